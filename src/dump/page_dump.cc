#include "dump/page_dump.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "base/file_util.h"
#include "base/logging.h"
#include "base/page_size.h"
#include "base/unique_fd.h"
#include "dump/write_behind.h"
#include "image/checksum.h"
#include "image/page_compression.h"
#include "kernel/proc_pagemap.h"

namespace cryo::dump {
namespace {

// One batch: up to this many bytes and iovecs per process_vm_readv (IOV_MAX is 1024). Large
// batches amortize the syscall; 8 MiB stays in the last-level cache for the zero check.
constexpr size_t kBatchBytes = 8 << 20;
constexpr size_t kBatchIovecs = 1024;
// Buffers in the ring between reading and writing: one being read into, one being written, and one
// so that a slow write does not stall the next read at once.
constexpr size_t kBatchBuffers = 3;

// Writes `pieces` at `offset` of fd, resuming after partial writes, at most IOV_MAX iovecs a call.
Result<> write_pieces(int fd, std::vector<iovec> pieces, uint64_t offset, const char* what) {
  size_t i = 0;
  while (i < pieces.size()) {
    int count = static_cast<int>(std::min<size_t>(IOV_MAX, pieces.size() - i));
    ssize_t n = ::pwritev(fd, &pieces[i], count, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno(std::string("pwritev(") + what + ")");
    }
    if (n == 0) return fail(std::string("pwritev(") + what + ") wrote nothing");
    offset += static_cast<uint64_t>(n);
    size_t done = static_cast<size_t>(n);
    while (i < pieces.size() && done >= pieces[i].iov_len) done -= pieces[i++].iov_len;
    if (done > 0) {
      pieces[i].iov_base = static_cast<char*>(pieces[i].iov_base) + done;
      pieces[i].iov_len -= done;
    }
  }
  return {};
}

// Reads a process's pages batch by batch on the calling thread and has a WriteBehind thread write
// them: the zero check, the pagemap and (uncompressed) the checksum are done here while the writer
// copies the previous batch into the file. Uncompressed, the kept pages are written straight from
// the batch buffer (one iovec per span of kept pages); compressed, they are compacted first, since
// a zstd frame takes one contiguous input, and compressed and hashed on the writer.
class PageWriter {
 public:
  PageWriter(pid_t pid, UniqueFd out, std::optional<image::ChunkCompressor> compressor,
             const std::function<void(uint64_t)>& on_read)
      : pid_(pid), out_(std::move(out)), compressor_(std::move(compressor)), on_read_(on_read) {}

  // `expected_bytes`: what add() will be given in all, when known; 0 if not (pre-copy passes).
  Result<> start(uint64_t expected_bytes = 0) {
    auto sink = [this](const WriteBehind::Batch& batch) { return compressor_ ? write_chunks(batch) : write_batch(batch); };
    if (expected_bytes > 0 && expected_bytes <= kBatchBytes) {
      batch_limit_ = (expected_bytes + kPageSize - 1) / kPageSize * kPageSize;
      ASSIGN_OR_RETURN(ring_, WriteBehind::start_inline(batch_limit_, sink));
      return {};
    }
    ASSIGN_OR_RETURN(ring_, WriteBehind::start(kBatchBuffers, kBatchBytes, sink));
    return {};
  }

  Result<> add(uint64_t start, uint64_t end, bool skip_zero_pages) {
    while (start < end) {
      if (batch_.size() == kBatchIovecs || batch_bytes_ == batch_limit_) RETURN_IF_ERROR(flush());
      uint64_t take = std::min<uint64_t>(end - start, batch_limit_ - batch_bytes_);
      batch_.push_back({start, start + take, skip_zero_pages});
      batch_bytes_ += take;
      start += take;
    }
    return {};
  }

  Result<> flush() {
    if (batch_.empty()) return {};
    ASSIGN_OR_RETURN(WriteBehind::Batch* batch, ring_->next());
    RETURN_IF_ERROR(read_batch(batch->data));
    if (on_read_) on_read_(batch_bytes_);
    find_kept_pages(batch_, batch->data, kept_);
    size_t kept = 0;
    for (const auto& span : kept_) {
      add_run(span.vaddr, span.bytes / kPageSize, data_size_ + kept);
      if (compressor_) {
        // Compacted in place: the span's pages are at or after `kept`.
        if (kept != span.at) std::memmove(batch->data + kept, batch->data + span.at, span.bytes);
      } else {
        // Hashed here while the batch is still in the cache: the image's inventory needs the
        // checksum of the whole file, and reading a 1 GiB file back at commit cost 0.2-0.6 s of
        // frozen time. The writer thread is the slower of the two, so the hash costs no time.
        checksum_.update(batch->data + span.at, span.bytes);
        batch->pieces.push_back({batch->data + span.at, span.bytes});
      }
      kept += span.bytes;
    }
    if (compressor_ && kept > 0) batch->pieces.push_back({batch->data, kept});
    data_size_ += kept;
    batch_.clear();
    batch_bytes_ = 0;
    return ring_->submit(batch);
  }

  Result<DumpedPages> finish() {
    RETURN_IF_ERROR(flush());  // The image writer fsyncs every file when it commits.
    RETURN_IF_ERROR(ring_->finish());
    pagemap_.set_pages_file_size(data_size_);
    if (compressor_) {
      *pagemap_.mutable_compression() = std::move(compression_);
      pagemap_.mutable_compression()->set_codec(image::PAGE_CODEC_ZSTD);
      pagemap_.mutable_compression()->set_stored_size(file_size_);
    }
    return DumpedPages{std::move(pagemap_), checksum_.digest()};
  }

  // The runs stored since the last call, once they are flushed (PagePasses).
  Result<std::vector<image::PageRun>> take_runs() {
    RETURN_IF_ERROR(flush());
    std::vector<image::PageRun> runs(pagemap_.runs().begin(), pagemap_.runs().end());
    pagemap_.clear_runs();
    return runs;
  }

 private:
  Result<> read_batch(char* buffer) {
    std::vector<iovec> remote(batch_.size());
    for (size_t i = 0; i < batch_.size(); ++i)
      remote[i] = {reinterpret_cast<void*>(batch_[i].start), batch_[i].end - batch_[i].start};
    iovec local{buffer, batch_bytes_};
    ssize_t got = ::process_vm_readv(pid_, &local, 1, remote.data(), remote.size(), 0);
    if (got == static_cast<ssize_t>(batch_bytes_)) return {};
    // process_vm_readv stops at memory it may not read (PROT_NONE pages); /proc/PID/mem reads
    // those too, since it accesses the memory as a debugger would.
    size_t done = got > 0 ? static_cast<size_t>(got) : 0;
    logging::get("dump")->debug("pid {}: process_vm_readv read {} of {} bytes; reading the rest from /proc/PID/mem", pid_,
                                done, batch_bytes_);
    if (!mem_.valid()) {
      std::string path = "/proc/" + std::to_string(pid_) + "/mem";
      mem_.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!mem_.valid()) return fail_errno("open(" + path + ")");
    }
    size_t at = 0;
    for (const auto& seg : batch_) {
      uint64_t len = seg.end - seg.start;
      if (at + len > done) {
        uint64_t skip = done > at ? done - at : 0;
        RETURN_IF_ERROR(pread_exact(mem_.get(), buffer + at + skip, len - skip, seg.start + skip,
                                    "pid " + std::to_string(pid_) + " memory"));
      }
      at += len;
    }
    return {};
  }

  // On the writer thread: the batch's kept pages, at the end of the pages file.
  Result<> write_batch(const WriteBehind::Batch& batch) {
    size_t bytes = 0;
    for (const auto& piece : batch.pieces) bytes += piece.iov_len;
    if (bytes == 0) return {};
    RETURN_IF_ERROR(write_pieces(out_.get(), batch.pieces, file_size_, "pages file"));
    // Start writing this batch to disk now, while the next one is read: the image writer fsyncs
    // every file when it commits, and that fsync then finds little left to do. Only a hint: the
    // fsync is what makes the image durable, so a failure here is not an error.
    (void)::sync_file_range(out_.get(), static_cast<off64_t>(file_size_), static_cast<off64_t>(bytes), SYNC_FILE_RANGE_WRITE);
    file_size_ += bytes;
    return {};
  }

  // On the writer thread: the compacted batch (one piece at the buffer's start) as chunks of at
  // most kPageChunkBytes, each one zstd frame, written, hashed as stored, and listed in the
  // compression table.
  Result<> write_chunks(const WriteBehind::Batch& batch) {
    if (batch.pieces.empty()) return {};
    const char* data = static_cast<const char*>(batch.pieces[0].iov_base);
    size_t kept = batch.pieces[0].iov_len;
    for (size_t from = 0; from < kept; from += image::kPageChunkBytes) {
      size_t size = std::min<size_t>(kept - from, image::kPageChunkBytes);
      ASSIGN_OR_RETURN(std::span<const char> frame, compressor_->compress({data + from, size}));
      RETURN_IF_ERROR(write_all(out_.get(), frame.data(), frame.size(), "compressed pages file"));
      checksum_.update(frame.data(), frame.size());
      auto* chunk = compression_.add_chunks();
      chunk->set_offset(chunk_data_size_);
      chunk->set_size(size);
      chunk->set_stored_offset(file_size_);
      chunk->set_stored_size(frame.size());
      (void)::sync_file_range(out_.get(), static_cast<off64_t>(file_size_), static_cast<off64_t>(frame.size()), SYNC_FILE_RANGE_WRITE);
      chunk_data_size_ += size;
      file_size_ += frame.size();
    }
    return {};
  }

  void add_run(uint64_t vaddr, uint64_t nr_pages, uint64_t offset) {
    if (pagemap_.runs_size() > 0) {
      auto* last = pagemap_.mutable_runs(pagemap_.runs_size() - 1);
      uint64_t bytes = last->nr_pages() * kPageSize;
      if (last->vaddr() + bytes == vaddr && last->offset() + bytes == offset) {
        last->set_nr_pages(last->nr_pages() + nr_pages);
        return;
      }
    }
    auto* run = pagemap_.add_runs();
    run->set_vaddr(vaddr);
    run->set_nr_pages(nr_pages);
    run->set_offset(offset);
  }

  pid_t pid_;
  UniqueFd out_;
  UniqueFd mem_;
  std::optional<image::ChunkCompressor> compressor_;
  const std::function<void(uint64_t)>& on_read_;
  // The reading thread's.
  std::vector<BatchSegment> batch_;
  std::vector<KeptSpan> kept_;
  size_t batch_bytes_ = 0;
  uint64_t batch_limit_ = kBatchBytes;  // Bytes a batch holds: its buffer's size.
  uint64_t data_size_ = 0;  // Bytes of page data read and kept so far.
  image::Pagemap pagemap_;
  // The checksum is the reader's uncompressed and the writer's compressed; the rest is the writer's.
  image::StreamingChecksum checksum_;
  uint64_t file_size_ = 0;        // Bytes written to the file.
  uint64_t chunk_data_size_ = 0;  // Bytes of page data compressed so far.
  image::PageCompression compression_;
  // Last: destroyed first, which stops the writer before anything it uses goes.
  std::unique_ptr<WriteBehind> ring_;
};

// The compressor of a --compress dump, or none.
Result<std::optional<image::ChunkCompressor>> page_compressor(bool compress) {
  if (!compress) return std::optional<image::ChunkCompressor>();
  ASSIGN_OR_RETURN(image::ChunkCompressor made, image::ChunkCompressor::make(image::kPageCompressionLevel));
  return std::optional<image::ChunkCompressor>(std::move(made));
}

}  // namespace

Result<DumpedPages> dump_pages(pid_t pid, const image::MemoryMap& mm, UniqueFd out, bool compress,
                               const std::function<void(uint64_t)>& on_read) {
  std::string pagemap_path = "/proc/" + std::to_string(pid) + "/pagemap";
  UniqueFd pagemap(::open(pagemap_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!pagemap.valid()) return fail_errno("open(" + pagemap_path + ")");
  ASSIGN_OR_RETURN(std::optional<image::ChunkCompressor> compressor, page_compressor(compress));
  // Every range first: the writer's buffers are sized to what there is.
  std::vector<std::pair<PageRange, bool>> pages;  // With "skip zero pages" (anonymous memory).
  uint64_t bytes = 0;
  std::vector<PageRange> ranges;
  for (const auto& vma : mm.vmas()) {
    bool anon = vma.kind() == image::VMA_ANON_PRIVATE;
    if (!anon && vma.kind() != image::VMA_FILE_PRIVATE) continue;
    ranges.clear();
    auto found = find_private_pages(pagemap.get(), vma.start(), vma.end(), ranges);
    if (!found) return fail(found.error().context("pid " + std::to_string(pid)));
    for (const auto& r : ranges) {
      pages.push_back({r, anon});
      bytes += r.end - r.start;
    }
  }
  PageWriter writer(pid, std::move(out), std::move(compressor), on_read);
  RETURN_IF_ERROR(writer.start(bytes));
  for (const auto& [range, anon] : pages) RETURN_IF_ERROR(writer.add(range.start, range.end, anon));
  return writer.finish();
}

struct PagePasses::State {
  std::function<void(uint64_t)> on_read;  // None: the writer keeps a reference to it.
  std::optional<PageWriter> writer;
};

PagePasses::PagePasses(std::unique_ptr<State> state) : state_(std::move(state)) {}
PagePasses::PagePasses(PagePasses&&) noexcept = default;
PagePasses& PagePasses::operator=(PagePasses&&) noexcept = default;
PagePasses::~PagePasses() = default;

Result<PagePasses> PagePasses::create(pid_t pid, UniqueFd out, bool compress) {
  auto state = std::make_unique<State>();
  ASSIGN_OR_RETURN(std::optional<image::ChunkCompressor> compressor, page_compressor(compress));
  state->writer.emplace(pid, std::move(out), std::move(compressor), state->on_read);
  RETURN_IF_ERROR(state->writer->start());
  return PagePasses(std::move(state));
}

Result<std::vector<image::PageRun>> PagePasses::append(const std::vector<std::pair<PageRange, bool>>& ranges) {
  for (const auto& [range, skip_zero_pages] : ranges) RETURN_IF_ERROR(state_->writer->add(range.start, range.end, skip_zero_pages));
  return state_->writer->take_runs();
}

Result<DumpedPages> PagePasses::finish(const PageIndex& index) {
  ASSIGN_OR_RETURN(DumpedPages pages, state_->writer->finish());
  index.write_runs(*pages.pagemap.mutable_runs());
  return pages;
}

}  // namespace cryo::dump
