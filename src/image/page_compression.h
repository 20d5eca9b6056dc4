// The zstd chunks of a compressed pages file (zpages-<pid>.img, written by `dump --compress`).
//
// The page data is cut into chunks of at most kPageChunkBytes, each compressed on its own into one
// zstd frame that carries its content size and a checksum of its content. Independent frames let
// restore decompress one chunk into a buffer that stays in the cache and copy it into the process
// from there; the pagemap's compression table says where each chunk is (pagemap.proto).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/error.h"
#include "pagemap.pb.h"

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace cryo::image {

// Page data per chunk as dump writes it: small enough to stay in the cache between decompressing
// and copying it into the process, large enough that the frames cost nothing in ratio.
constexpr uint64_t kPageChunkBytes = 2 << 20;
// Restore accepts chunks up to this size (it allocates one buffer of the largest).
constexpr uint64_t kMaxPageChunkBytes = 64 << 20;
constexpr int kMaxPageChunks = 1 << 22;
// zstd level 1: the fastest of the normal levels (measured in bench/compress.sh).
constexpr int kPageCompressionLevel = 1;
// zstd worker threads at most (one per CPU up to this): bench/compress.sh measured a python heap's
// dump at 1.33x the plain dump's time with none, 1.01x with two on two CPUs.
constexpr int kMaxCompressionWorkers = 4;

class ChunkCompressor {
 public:
  static Result<ChunkCompressor> make(int level);
  ChunkCompressor(ChunkCompressor&&) noexcept;
  ~ChunkCompressor();
  // One zstd frame of `data`, valid until the next call.
  Result<std::span<const char>> compress(std::span<const char> data);

 private:
  ChunkCompressor() = default;
  struct Free {
    void operator()(ZSTD_CCtx_s* ctx) const;
  };
  std::unique_ptr<ZSTD_CCtx_s, Free> ctx_;
  std::vector<char> out_;
};

class ChunkDecompressor {
 public:
  ChunkDecompressor();
  ChunkDecompressor(ChunkDecompressor&&) noexcept;
  ~ChunkDecompressor();
  // Decompresses the frame `in` into `out`, which it must fill exactly: a frame that holds more or
  // fewer bytes, or fails its checksum, is an error.
  Result<> decompress(std::span<const char> in, std::span<char> out);

 private:
  struct Free {
    void operator()(ZSTD_DCtx_s* ctx) const;
  };
  std::unique_ptr<ZSTD_DCtx_s, Free> ctx_;
};

// What the frame header of each chunk of the table says its content size is, read from `fd` (the
// compressed file, `file_size` bytes): kUnknownFrameSize where the chunk lies outside the file or
// its header is not a zstd frame header with a content size. Reads only the headers, so that
// validation can compare the sizes with the table before restore creates anything.
constexpr uint64_t kUnknownFrameSize = UINT64_MAX;
std::vector<uint64_t> declared_chunk_sizes(int fd, uint64_t file_size, const PageCompression& table);

}  // namespace cryo::image
