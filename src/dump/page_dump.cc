#include "dump/page_dump.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "base/file_util.h"
#include "base/logging.h"
#include "base/page_size.h"
#include "base/unique_fd.h"
#include "image/checksum.h"
#include "image/page_compression.h"
#include "kernel/proc_pagemap.h"

namespace cryo::dump {
namespace {

// One batch: up to this many bytes and iovecs per process_vm_readv (IOV_MAX is 1024). Large
// batches amortize the syscall; 8 MiB stays in the last-level cache for the zero check.
constexpr size_t kBatchBytes = 8 << 20;
constexpr size_t kBatchIovecs = 1024;

struct Segment {
  uint64_t start;
  uint64_t end;
  bool skip_zero_pages;
};

class PageWriter {
 public:
  PageWriter(pid_t pid, UniqueFd out, char* buffer, std::optional<image::ChunkCompressor> compressor,
             const std::function<void(uint64_t)>& on_read)
      : pid_(pid), out_(std::move(out)), buffer_(buffer), compressor_(std::move(compressor)), on_read_(on_read) {}

  Result<> add(uint64_t start, uint64_t end, bool skip_zero_pages) {
    while (start < end) {
      if (batch_.size() == kBatchIovecs || batch_bytes_ == kBatchBytes) RETURN_IF_ERROR(flush());
      uint64_t take = std::min<uint64_t>(end - start, kBatchBytes - batch_bytes_);
      batch_.push_back({start, start + take, skip_zero_pages});
      batch_bytes_ += take;
      start += take;
    }
    return {};
  }

  Result<> flush() {
    if (batch_.empty()) return {};
    RETURN_IF_ERROR(read_batch());
    if (on_read_) on_read_(batch_bytes_);
    // Compact the buffer in place: zero pages of anonymous memory are dropped, the rest is indexed.
    size_t kept = 0, at = 0;
    for (const auto& seg : batch_) {
      for (uint64_t page = seg.start; page < seg.end; page += kPageSize, at += kPageSize) {
        if (seg.skip_zero_pages && is_zero_page(buffer_ + at)) continue;
        if (kept != at) std::memcpy(buffer_ + kept, buffer_ + at, kPageSize);
        add_run(page, data_size_ + kept);
        kept += kPageSize;
      }
    }
    batch_.clear();
    batch_bytes_ = 0;
    if (compressor_) return write_chunks(kept);
    RETURN_IF_ERROR(write_all(out_.get(), buffer_, kept, "pages file"));
    // Hashed while the batch is still in the cache: the image's inventory needs the checksum of the
    // whole file, and reading a 1 GiB file back at commit cost 0.2-0.6 s of frozen time.
    checksum_.update(buffer_, kept);
    // Start writing this batch to disk now, while the next one is read: the image writer fsyncs
    // every file when it commits, and that fsync then finds little left to do. Only a hint: the
    // fsync is what makes the image durable, so a failure here is not an error.
    if (kept > 0)
      (void)::sync_file_range(out_.get(), static_cast<off64_t>(file_size_), static_cast<off64_t>(kept),
                              SYNC_FILE_RANGE_WRITE);
    file_size_ += kept;
    data_size_ += kept;
    return {};
  }

  Result<DumpedPages> finish() {
    RETURN_IF_ERROR(flush());  // The image writer fsyncs every file when it commits.
    pagemap_.set_pages_file_size(data_size_);
    if (compressor_) {
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
  Result<> read_batch() {
    std::vector<iovec> remote(batch_.size());
    for (size_t i = 0; i < batch_.size(); ++i)
      remote[i] = {reinterpret_cast<void*>(batch_[i].start), batch_[i].end - batch_[i].start};
    iovec local{buffer_, batch_bytes_};
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
        RETURN_IF_ERROR(pread_exact(mem_.get(), buffer_ + at + skip, len - skip, seg.start + skip,
                                    "pid " + std::to_string(pid_) + " memory"));
      }
      at += len;
    }
    return {};
  }

  // The compacted batch, `kept` bytes at the buffer's start, as chunks of at most kPageChunkBytes:
  // each one zstd frame, written, hashed as stored, and listed in the compression table.
  Result<> write_chunks(size_t kept) {
    for (size_t from = 0; from < kept; from += image::kPageChunkBytes) {
      size_t size = std::min<size_t>(kept - from, image::kPageChunkBytes);
      ASSIGN_OR_RETURN(std::span<const char> frame, compressor_->compress({buffer_ + from, size}));
      RETURN_IF_ERROR(write_all(out_.get(), frame.data(), frame.size(), "compressed pages file"));
      checksum_.update(frame.data(), frame.size());
      auto* chunk = pagemap_.mutable_compression()->add_chunks();
      chunk->set_offset(data_size_);
      chunk->set_size(size);
      chunk->set_stored_offset(file_size_);
      chunk->set_stored_size(frame.size());
      (void)::sync_file_range(out_.get(), static_cast<off64_t>(file_size_), static_cast<off64_t>(frame.size()), SYNC_FILE_RANGE_WRITE);
      data_size_ += size;
      file_size_ += frame.size();
    }
    return {};
  }

  void add_run(uint64_t vaddr, uint64_t offset) {
    if (pagemap_.runs_size() > 0) {
      auto* last = pagemap_.mutable_runs(pagemap_.runs_size() - 1);
      uint64_t bytes = last->nr_pages() * kPageSize;
      if (last->vaddr() + bytes == vaddr && last->offset() + bytes == offset) {
        last->set_nr_pages(last->nr_pages() + 1);
        return;
      }
    }
    auto* run = pagemap_.add_runs();
    run->set_vaddr(vaddr);
    run->set_nr_pages(1);
    run->set_offset(offset);
  }

  pid_t pid_;
  UniqueFd out_;
  UniqueFd mem_;
  char* buffer_;
  std::optional<image::ChunkCompressor> compressor_;
  const std::function<void(uint64_t)>& on_read_;
  std::vector<Segment> batch_;
  size_t batch_bytes_ = 0;
  uint64_t file_size_ = 0;  // Bytes written to the file.
  uint64_t data_size_ = 0;  // Bytes of page data: file_size_ unless compressed.
  image::Pagemap pagemap_;
  image::StreamingChecksum checksum_;
};

}  // namespace

bool is_zero_page(const void* page) {
  const auto* words = static_cast<const uint64_t*>(page);
  for (size_t i = 0; i < kPageSize / sizeof(uint64_t); i += 8) {
    uint64_t any = words[i] | words[i + 1] | words[i + 2] | words[i + 3] | words[i + 4] | words[i + 5] | words[i + 6] |
                   words[i + 7];
    if (any) return false;
  }
  return true;
}

Result<DumpedPages> dump_pages(pid_t pid, const image::MemoryMap& mm, UniqueFd out, bool compress,
                               const std::function<void(uint64_t)>& on_read) {
  std::string pagemap_path = "/proc/" + std::to_string(pid) + "/pagemap";
  UniqueFd pagemap(::open(pagemap_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!pagemap.valid()) return fail_errno("open(" + pagemap_path + ")");
  // A page-aligned buffer, reused for every batch.
  void* buffer = ::mmap(nullptr, kBatchBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buffer == MAP_FAILED) return fail_errno("mmap(page buffer)");
  struct Unmap {
    void* p;
    ~Unmap() { ::munmap(p, kBatchBytes); }
  } unmap{buffer};

  std::optional<image::ChunkCompressor> compressor;
  if (compress) {
    ASSIGN_OR_RETURN(image::ChunkCompressor made, image::ChunkCompressor::make(image::kPageCompressionLevel));
    compressor.emplace(std::move(made));
  }
  PageWriter writer(pid, std::move(out), static_cast<char*>(buffer), std::move(compressor), on_read);
  std::vector<PageRange> ranges;
  for (const auto& vma : mm.vmas()) {
    bool anon = vma.kind() == image::VMA_ANON_PRIVATE;
    if (!anon && vma.kind() != image::VMA_FILE_PRIVATE) continue;
    ranges.clear();
    auto found = find_private_pages(pagemap.get(), vma.start(), vma.end(), ranges);
    if (!found) return fail(found.error().context("pid " + std::to_string(pid)));
    for (const auto& r : ranges) RETURN_IF_ERROR(writer.add(r.start, r.end, anon));
  }
  return writer.finish();
}

struct PagePasses::State {
  // A page-aligned buffer, reused for every batch.
  struct Buffer {
    void* p = MAP_FAILED;
    ~Buffer() {
      if (p != MAP_FAILED) ::munmap(p, kBatchBytes);
    }
  } buffer;
  std::function<void(uint64_t)> on_read;  // None: the writer keeps a reference to it.
  std::optional<PageWriter> writer;
};

PagePasses::PagePasses(std::unique_ptr<State> state) : state_(std::move(state)) {}
PagePasses::PagePasses(PagePasses&&) noexcept = default;
PagePasses& PagePasses::operator=(PagePasses&&) noexcept = default;
PagePasses::~PagePasses() = default;

Result<PagePasses> PagePasses::create(pid_t pid, UniqueFd out, bool compress) {
  auto state = std::make_unique<State>();
  state->buffer.p = ::mmap(nullptr, kBatchBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (state->buffer.p == MAP_FAILED) return fail_errno("mmap(page buffer)");
  std::optional<image::ChunkCompressor> compressor;
  if (compress) {
    ASSIGN_OR_RETURN(image::ChunkCompressor made, image::ChunkCompressor::make(image::kPageCompressionLevel));
    compressor.emplace(std::move(made));
  }
  state->writer.emplace(pid, std::move(out), static_cast<char*>(state->buffer.p), std::move(compressor), state->on_read);
  return PagePasses(std::move(state));
}

Result<std::vector<image::PageRun>> PagePasses::append(const std::vector<std::pair<PageRange, bool>>& ranges) {
  for (const auto& [range, skip_zero_pages] : ranges) RETURN_IF_ERROR(state_->writer->add(range.start, range.end, skip_zero_pages));
  return state_->writer->take_runs();
}

Result<DumpedPages> PagePasses::finish(const std::vector<image::PageRun>& runs) {
  ASSIGN_OR_RETURN(DumpedPages pages, state_->writer->finish());
  pages.pagemap.clear_runs();
  for (const auto& run : runs) *pages.pagemap.add_runs() = run;
  return pages;
}

}  // namespace cryo::dump
