#include "image/page_data.h"

#include <sys/mman.h>

#include <algorithm>

#include "base/file_util.h"

namespace cryo::image {

Result<PageData> PageData::open(const DirFd& dir, const std::string& name, const Pagemap& pagemap, bool populate) {
  PageData data;
  data.path_ = dir.describe(name);
  data.size_ = pagemap.pages_file_size();
  bool compressed = pagemap.has_compression();
  uint64_t file_size = compressed ? pagemap.compression().stored_size() : data.size_;
  if (data.size_ == 0) return data;
  ASSIGN_OR_RETURN(OpenedFile opened, dir.open_regular(name, file_size));
  // Verified against the inventory when the image was opened; a file cut short since would fault
  // (SIGBUS) where the mapping runs past its end.
  if (opened.size != file_size) return fail(data.path_ + " has " + std::to_string(opened.size) + " bytes, not " + std::to_string(file_size));
  if (!compressed) {
    void* p = ::mmap(nullptr, data.size_, PROT_READ, MAP_PRIVATE | (populate ? MAP_POPULATE : 0), opened.fd.get(), 0);
    if (p == MAP_FAILED) return fail_errno("mmap(" + data.path_ + ")");
    data.mapped_ = static_cast<const char*>(p);
    return data;
  }
  // The table was validated at restore (page_chunk_validation.cc) and written by cryo at dump; the
  // bounds are checked again where a chunk is read all the same.
  uint64_t largest = 0, largest_stored = 0;
  for (const auto& chunk : pagemap.compression().chunks()) {
    if (chunk.size() > kMaxPageChunkBytes || chunk.stored_size() > 2 * kMaxPageChunkBytes)
      return fail(data.path_ + ": chunk at " + std::to_string(chunk.offset()) + " is larger than cryo accepts");
    largest = std::max(largest, chunk.size());
    largest_stored = std::max(largest_stored, chunk.stored_size());
    data.chunks_.push_back(chunk);
  }
  if (data.chunks_.empty()) return fail(data.path_ + ": compressed page data without chunks");
  data.fd_ = std::move(opened.fd);
  data.scratch_.stored.resize(largest_stored);
  data.data_.resize(largest);
  return data;
}

PageData::PageData(PageData&& other) noexcept
    : path_(std::move(other.path_)),
      size_(other.size_),
      mapped_(std::exchange(other.mapped_, nullptr)),
      fd_(std::move(other.fd_)),
      chunks_(std::move(other.chunks_)),
      data_(std::move(other.data_)),
      cached_(other.cached_),
      scratch_(std::move(other.scratch_)) {}

PageData::~PageData() {
  if (mapped_) ::munmap(const_cast<char*>(mapped_), size_);
}

size_t PageData::chunk_count() const {
  if (compressed()) return chunks_.size();
  return size_ > 0 ? 1 : 0;
}

ChunkRange PageData::chunk_range(size_t index) const {
  if (!compressed()) return {0, size_};
  return {chunks_[index].offset(), chunks_[index].size()};
}

Result<const char*> PageData::chunk(size_t index) {
  if (index >= chunk_count()) return fail(path_ + ": no chunk " + std::to_string(index));
  if (!compressed()) return mapped_;
  if (cached_ == index) return data_.data();
  cached_ = SIZE_MAX;
  RETURN_IF_ERROR(decompress_chunk(index, data_.data(), scratch_));
  cached_ = index;
  return data_.data();
}

Result<> PageData::decompress_chunk(size_t index, char* out, ChunkScratch& scratch) const {
  if (!compressed() || index >= chunks_.size()) return fail(path_ + ": no compressed chunk " + std::to_string(index));
  const PageChunk& c = chunks_[index];
  std::string where = path_ + " chunk " + std::to_string(index);
  if (scratch.stored.size() < c.stored_size()) scratch.stored.resize(c.stored_size());
  RETURN_IF_ERROR(pread_exact(fd_.get(), scratch.stored.data(), c.stored_size(), c.stored_offset(), where));
  auto done = scratch.decompressor.decompress({scratch.stored.data(), c.stored_size()}, {out, c.size()});
  if (!done) return fail(done.error().context(where));
  return {};
}

Result<> PageData::copy(uint64_t offset, uint64_t size, char* out) {
  if (offset > size_ || size > size_ - offset)
    return fail(path_ + ": bytes " + std::to_string(offset) + "+" + std::to_string(size) + " are beyond the page data");
  while (size > 0) {
    // The chunk that holds `offset`: the last one that starts at or before it.
    size_t index = 0;
    if (compressed()) {
      auto it = std::upper_bound(chunks_.begin(), chunks_.end(), offset, [](uint64_t o, const PageChunk& c) { return o < c.offset(); });
      if (it == chunks_.begin()) return fail(path_ + ": no chunk holds offset " + std::to_string(offset));
      index = static_cast<size_t>(it - chunks_.begin()) - 1;
    }
    ChunkRange range = chunk_range(index);
    if (offset >= range.offset + range.size) return fail(path_ + ": no chunk holds offset " + std::to_string(offset));
    ASSIGN_OR_RETURN(const char* bytes, chunk(index));
    uint64_t take = std::min(size, range.offset + range.size - offset);
    std::copy_n(bytes + (offset - range.offset), take, out);
    out += take;
    offset += take;
    size -= take;
  }
  return {};
}

}  // namespace cryo::image
