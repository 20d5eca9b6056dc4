// The PAGEMAP_SCAN ioctl on /proc/PID/pagemap (Linux 6.7+). Debian 12's kernel headers are 6.1 and
// lack it, so the interface is spelled out here from the kernel's include/uapi/linux/fs.h.
#pragma once

#include <sys/ioctl.h>

#include <atomic>
#include <cstdint>

namespace cryo::pagemap_scan {

// Page categories, used in the masks of ScanArg and reported in PageRegion::categories.
inline constexpr uint64_t kPageIsWpAllowed = 1 << 0;
inline constexpr uint64_t kPageIsWritten = 1 << 1;
inline constexpr uint64_t kPageIsFile = 1 << 2;
inline constexpr uint64_t kPageIsPresent = 1 << 3;
inline constexpr uint64_t kPageIsSwapped = 1 << 4;
inline constexpr uint64_t kPageIsPfnZero = 1 << 5;
inline constexpr uint64_t kPageIsHuge = 1 << 6;
inline constexpr uint64_t kPageIsSoftDirty = 1 << 7;
inline constexpr uint64_t kPageIsGuard = 1 << 8;  // Linux 6.14+: an older kernel refuses it (EINVAL).

// Whether this kernel knows kPageIsGuard is learned once, by every scanner: a scan that asked for it
// and failed with EINVAL calls refuse_guard_category() and asks again without it. A kernel without
// the category has no guard pages either.
inline std::atomic<bool> guard_category_refused{false};
inline uint64_t guard_category() { return guard_category_refused.load(std::memory_order_relaxed) ? 0 : kPageIsGuard; }
inline void refuse_guard_category() { guard_category_refused.store(true, std::memory_order_relaxed); }

// Flags of ScanArg::flags.
inline constexpr uint64_t kWriteProtectMatching = 1 << 0;  // PM_SCAN_WP_MATCHING
inline constexpr uint64_t kCheckWpAsync = 1 << 1;          // PM_SCAN_CHECK_WPASYNC

// struct page_region: [start, end) with the categories asked for in return_mask.
struct PageRegion {
  uint64_t start;
  uint64_t end;
  uint64_t categories;
};

// struct pm_scan_arg.
struct ScanArg {
  uint64_t size;  // sizeof(ScanArg)
  uint64_t flags;
  uint64_t start;
  uint64_t end;
  uint64_t walk_end;  // Written by the kernel: where the walk stopped (== end when complete).
  uint64_t vec;       // PageRegion array
  uint64_t vec_len;
  uint64_t max_pages;  // 0: no limit
  uint64_t category_inverted;
  uint64_t category_mask;
  uint64_t category_anyof_mask;
  uint64_t return_mask;
};
static_assert(sizeof(ScanArg) == 96);
static_assert(sizeof(PageRegion) == 24);

// PAGEMAP_SCAN = _IOWR('f', 16, struct pm_scan_arg). Returns the number of regions filled.
inline constexpr unsigned long kIoctl = _IOWR('f', 16, ScanArg);

}  // namespace cryo::pagemap_scan
