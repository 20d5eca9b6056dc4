// The page data of one process as restore (and the dump's copy-on-write check) reads it: the raw
// pages file mapped, or the chunks of a compressed one, decompressed one at a time.
//
// Offsets are those of the page data, which PageRun.offset indexes: the raw file's own offsets, or
// the offsets in the data the compressed chunks hold together.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/dir_fd.h"
#include "base/error.h"
#include "base/unique_fd.h"
#include "image/page_compression.h"
#include "pagemap.pb.h"

namespace cryo::image {

struct ChunkRange {
  uint64_t offset;
  uint64_t size;
};

// What one thread needs to decompress chunks: a buffer for the stored frame and a decompressor.
struct ChunkScratch {
  std::vector<char> stored;
  ChunkDecompressor decompressor;
};

class PageData {
 public:
  // `name` is the process's pages file (pages-<pid>.img, or zpages-<pid>.img when `pagemap` has a
  // compression table), which must have the size the pagemap gives it. `populate` maps a raw file
  // with MAP_POPULATE (restore reads all of it).
  static Result<PageData> open(const DirFd& dir, const std::string& name, const Pagemap& pagemap, bool populate);
  PageData(PageData&&) noexcept;
  PageData& operator=(PageData&&) = delete;
  ~PageData();

  bool compressed() const { return !chunks_.empty(); }
  uint64_t size() const { return size_; }
  // The raw file is one chunk; a compressed file has those of its table.
  size_t chunk_count() const;
  ChunkRange chunk_range(size_t index) const;
  // The bytes of chunk `index`: the mapping itself, or a buffer that holds the decompressed chunk
  // until another one is asked for.
  Result<const char*> chunk(size_t index);
  // Decompresses chunk `index` of a compressed file into `out` (chunk_range(index).size bytes),
  // with the caller's scratch: threads with a scratch each may decompress chunks at once.
  Result<> decompress_chunk(size_t index, char* out, ChunkScratch& scratch) const;
  uint64_t largest_chunk() const { return data_.size(); }
  // Copies `size` bytes of page data from `offset` to `out`.
  Result<> copy(uint64_t offset, uint64_t size, char* out);

 private:
  PageData() = default;
  std::string path_;
  uint64_t size_ = 0;
  const char* mapped_ = nullptr;  // The raw file.
  // The compressed file.
  UniqueFd fd_;
  std::vector<PageChunk> chunks_;
  std::vector<char> data_;  // The chunk that chunk() decompressed last.
  size_t cached_ = SIZE_MAX;
  ChunkScratch scratch_;
};

}  // namespace cryo::image
