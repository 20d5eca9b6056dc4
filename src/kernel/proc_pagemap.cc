#include "kernel/proc_pagemap.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <string>

#include "base/file_util.h"
#include "base/page_size.h"
#include "kernel/pagemap_scan.h"

namespace cryo {
namespace {

using namespace pagemap_scan;

std::atomic<bool> scan_unsupported{false};

void append_range(std::vector<PageRange>& out, uint64_t start, uint64_t end) {
  if (!out.empty() && out.back().end == start) {
    out.back().end = end;
  } else {
    out.push_back({start, end});
  }
}

// Returns false when the kernel has no PAGEMAP_SCAN.
struct ScanCategories {
  uint64_t inverted, mask, anyof, returned;
};

Result<bool> scan_with_ioctl(int fd, uint64_t start, uint64_t end, const ScanCategories& want, std::vector<PageRange>& out) {
  PageRegion regions[512];
  uint64_t at = start;
  while (at < end) {
    ScanArg arg{};
    arg.size = sizeof arg;
    arg.start = at;
    arg.end = end;
    arg.vec = reinterpret_cast<uint64_t>(regions);
    arg.vec_len = std::size(regions);
    arg.category_inverted = want.inverted;
    arg.category_mask = want.mask;
    arg.category_anyof_mask = want.anyof;
    arg.return_mask = want.returned;
    long n = ::ioctl(fd, kIoctl, &arg);
    if (n < 0) {
      // ENOTTY: no PAGEMAP_SCAN here. EINVAL on the first call: a kernel with fewer categories.
      if ((errno == ENOTTY || errno == EINVAL) && at == start) return false;
      if (errno == EINTR) continue;
      return fail_errno("ioctl(PAGEMAP_SCAN)");
    }
    for (long i = 0; i < n; ++i) append_range(out, regions[i].start, regions[i].end);
    if (arg.walk_end <= at) return fail("ioctl(PAGEMAP_SCAN) made no progress");
    at = arg.walk_end;
  }
  return true;
}

using AppendPages = void (*)(std::span<const uint64_t>, uint64_t, std::vector<PageRange>&);

Result<> scan_with_read(int fd, uint64_t start, uint64_t end, AppendPages append, std::vector<PageRange>& out) {
  constexpr size_t kBatch = 64 * 1024;  // Entries per read: 512 KiB, 256 MiB of address space.
  std::vector<uint64_t> entries(kBatch);
  for (uint64_t at = start; at < end;) {
    size_t count = std::min<uint64_t>(kBatch, (end - at) / kPageSize);
    RETURN_IF_ERROR(pread_exact(fd, entries.data(), count * sizeof(uint64_t), at / kPageSize * sizeof(uint64_t), "pagemap"));
    append(std::span(entries.data(), count), at, out);
    at += count * kPageSize;
  }
  return {};
}

}  // namespace

void append_private_pages(std::span<const uint64_t> entries, uint64_t start, std::vector<PageRange>& out) {
  for (size_t i = 0; i < entries.size(); ++i) {
    uint64_t e = entries[i];
    if (!(e & (kPagemapPresent | kPagemapSwapped)) || (e & (kPagemapFileOrShared | kPagemapGuard))) continue;
    uint64_t page = start + i * kPageSize;
    append_range(out, page, page + kPageSize);
  }
}

void append_guard_pages(std::span<const uint64_t> entries, uint64_t start, std::vector<PageRange>& out) {
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!(entries[i] & kPagemapGuard)) continue;
    uint64_t page = start + i * kPageSize;
    append_range(out, page, page + kPageSize);
  }
}

Result<> read_pagemap_entries(int pagemap_fd, uint64_t start, size_t count, uint64_t* out) {
  return pread_exact(pagemap_fd, out, count * sizeof(uint64_t), start / kPageSize * sizeof(uint64_t), "pagemap");
}

void append_same_frames(std::span<const uint64_t> child, std::span<const uint64_t> parent, uint64_t start,
                        std::vector<PageRange>& out) {
  size_t n = std::min(child.size(), parent.size());
  for (size_t i = 0; i < n; ++i) {
    uint64_t c = child[i], p = parent[i];
    if (!(c & kPagemapPresent) || !(p & kPagemapPresent)) continue;
    if ((c | p) & (kPagemapFileOrShared | kPagemapExclusive)) continue;
    uint64_t frame = c & kPagemapFrameMask;
    if (frame == 0 || frame != (p & kPagemapFrameMask)) continue;
    uint64_t page = start + i * kPageSize;
    append_range(out, page, page + kPageSize);
  }
}

Result<> find_private_pages(int pagemap_fd, uint64_t start, uint64_t end, std::vector<PageRange>& out) {
  // Wanted: (present or swapped) and not a page-cache page, the shared zero page or a guard (which
  // the scan counts as swapped). The inverted categories must all be absent; at least one of anyof
  // must be present. A kernel without the guard category has no guards either.
  uint64_t guards = guard_category();
  uint64_t excluded = kPageIsFile | kPageIsPfnZero | guards;
  ScanCategories want{excluded, excluded, kPageIsPresent | kPageIsSwapped, kPageIsPresent | kPageIsSwapped};
  if (!scan_unsupported.load(std::memory_order_relaxed)) {
    size_t before = out.size();
    ASSIGN_OR_RETURN(bool scanned, scan_with_ioctl(pagemap_fd, start, end, want, out));
    if (scanned) return {};
    out.resize(before);
    if (guards) {
      refuse_guard_category();
      return find_private_pages(pagemap_fd, start, end, out);
    }
    scan_unsupported.store(true, std::memory_order_relaxed);
  }
  return scan_with_read(pagemap_fd, start, end, append_private_pages, out);
}

Result<> find_guard_pages(int pagemap_fd, uint64_t start, uint64_t end, std::vector<PageRange>& out) {
  // Guard regions and their pagemap bit came together; reading the entries works on every kernel.
  return scan_with_read(pagemap_fd, start, end, append_guard_pages, out);
}

}  // namespace cryo
