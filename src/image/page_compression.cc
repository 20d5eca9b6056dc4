#include "image/page_compression.h"

#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <string>

namespace cryo::image {

void ChunkCompressor::Free::operator()(ZSTD_CCtx_s* ctx) const { ZSTD_freeCCtx(ctx); }
void ChunkDecompressor::Free::operator()(ZSTD_DCtx_s* ctx) const { ZSTD_freeDCtx(ctx); }

namespace {

Result<> check_zstd(size_t code, const std::string& call) {
  if (ZSTD_isError(code)) return fail(call + ": " + ZSTD_getErrorName(code));
  return {};
}

}  // namespace

Result<ChunkCompressor> ChunkCompressor::make(int level) {
  ChunkCompressor c;
  c.ctx_.reset(ZSTD_createCCtx());
  if (!c.ctx_) return fail("ZSTD_createCCtx: out of memory");
  RETURN_IF_ERROR(check_zstd(ZSTD_CCtx_setParameter(c.ctx_.get(), ZSTD_c_compressionLevel, level), "zstd level"));
  // The content size lets validation compare each frame with the table; the checksum makes a
  // damaged frame fail to decompress instead of giving wrong pages.
  RETURN_IF_ERROR(check_zstd(ZSTD_CCtx_setParameter(c.ctx_.get(), ZSTD_c_contentSizeFlag, 1), "zstd content size"));
  RETURN_IF_ERROR(check_zstd(ZSTD_CCtx_setParameter(c.ctx_.get(), ZSTD_c_checksumFlag, 1), "zstd checksum"));
  // Compression is the dump's bottleneck (level 1 runs at about 1 GB/s on one core, writing to the
  // page cache at several): zstd's own workers compress the halves of each chunk on every CPU, and
  // still make one frame of it. The dump waits for them, so the frames stay in order. A libzstd
  // built without threads refuses the parameter: it compresses on this thread then.
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  int workers = cpus > 1 ? static_cast<int>(std::min<long>(cpus, kMaxCompressionWorkers)) : 0;
  if (workers > 0 && !ZSTD_isError(ZSTD_CCtx_setParameter(c.ctx_.get(), ZSTD_c_nbWorkers, workers)))
    RETURN_IF_ERROR(check_zstd(ZSTD_CCtx_setParameter(c.ctx_.get(), ZSTD_c_jobSize, kPageChunkBytes / 2), "zstd job size"));
  return c;
}

ChunkCompressor::ChunkCompressor(ChunkCompressor&&) noexcept = default;
ChunkCompressor::~ChunkCompressor() = default;

Result<std::span<const char>> ChunkCompressor::compress(std::span<const char> data) {
  size_t bound = ZSTD_compressBound(data.size());
  if (out_.size() < bound) out_.resize(bound);
  size_t n = ZSTD_compress2(ctx_.get(), out_.data(), out_.size(), data.data(), data.size());
  RETURN_IF_ERROR(check_zstd(n, "ZSTD_compress2"));
  return std::span<const char>(out_.data(), n);
}

ChunkDecompressor::ChunkDecompressor() : ctx_(ZSTD_createDCtx()) {}
ChunkDecompressor::ChunkDecompressor(ChunkDecompressor&&) noexcept = default;
ChunkDecompressor::~ChunkDecompressor() = default;

Result<> ChunkDecompressor::decompress(std::span<const char> in, std::span<char> out) {
  if (!ctx_) return fail("ZSTD_createDCtx: out of memory");
  // One frame exactly: ZSTD_decompressDCtx would go on into a second one.
  size_t frame = ZSTD_findFrameCompressedSize(in.data(), in.size());
  RETURN_IF_ERROR(check_zstd(frame, "zstd frame"));
  if (frame != in.size()) return fail("the chunk holds " + std::to_string(in.size()) + " bytes, its zstd frame " + std::to_string(frame));
  unsigned long long declared = ZSTD_getFrameContentSize(in.data(), in.size());
  if (declared != out.size())
    return fail("the chunk's zstd frame holds " + (declared >= ZSTD_CONTENTSIZE_ERROR ? std::string("an unknown number of") : std::to_string(declared)) +
                " bytes, not " + std::to_string(out.size()));
  size_t n = ZSTD_decompressDCtx(ctx_.get(), out.data(), out.size(), in.data(), in.size());
  RETURN_IF_ERROR(check_zstd(n, "ZSTD_decompressDCtx"));
  if (n != out.size()) return fail("the chunk decompressed to " + std::to_string(n) + " bytes, not " + std::to_string(out.size()));
  return {};
}

std::vector<uint64_t> declared_chunk_sizes(int fd, uint64_t file_size, const PageCompression& table) {
  std::vector<uint64_t> sizes;
  if (table.chunks_size() > kMaxPageChunks) return sizes;  // Validation refuses the table.
  sizes.reserve(static_cast<size_t>(table.chunks_size()));
  // ZSTD_FRAMEHEADERSIZE_MAX, which zstd.h declares only for static linking.
  char header[18];
  for (const auto& chunk : table.chunks()) {
    uint64_t size = kUnknownFrameSize;
    if (chunk.stored_offset() < file_size && chunk.stored_size() <= file_size - chunk.stored_offset()) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof header, chunk.stored_size()));
      ssize_t got = ::pread(fd, header, want, static_cast<off_t>(chunk.stored_offset()));
      if (got == static_cast<ssize_t>(want)) {
        unsigned long long declared = ZSTD_getFrameContentSize(header, want);
        if (declared < ZSTD_CONTENTSIZE_ERROR) size = declared;
      }
    }
    sizes.push_back(size);
  }
  return sizes;
}

}  // namespace cryo::image
