// /proc/PID/pagemap: which pages of a range hold private data that a dump must copy.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/error.h"

namespace cryo {

// A page-aligned address range [start, end).
struct PageRange {
  uint64_t start = 0;
  uint64_t end = 0;
  bool operator==(const PageRange&) const = default;
};

// Bits of a pagemap entry (Documentation/admin-guide/mm/pagemap.rst).
constexpr uint64_t kPagemapPresent = 1ull << 63;
constexpr uint64_t kPagemapSwapped = 1ull << 62;
// A page-cache page of a file, or shared anonymous memory: its contents live outside the process.
constexpr uint64_t kPagemapFileOrShared = 1ull << 61;
// A guard page (MADV_GUARD_INSTALL, Linux 6.13+): a page-table marker, shown with the swapped bit
// too, that holds no data; touching it raises SIGSEGV.
constexpr uint64_t kPagemapGuard = 1ull << 58;

// Set when only this process maps the page (Linux 4.2+).
constexpr uint64_t kPagemapExclusive = 1ull << 56;
// Bits 0-54 of a present page: its frame number, shown only to a reader with CAP_SYS_ADMIN (0 to others).
constexpr uint64_t kPagemapFrameMask = (1ull << 55) - 1;

// Reads the raw entries of `count` pages from `start` (page aligned) into `out`.
Result<> read_pagemap_entries(int pagemap_fd, uint64_t start, size_t count, uint64_t* out);

// Appends the pages whose entries in `child` and `parent` (one per page, the first for address
// `start`) name the same physical page: present in both, a private (anonymous) page in both, not
// exclusively mapped, with the same non-zero frame number. Adjacent pages extend the last range.
void append_same_frames(std::span<const uint64_t> child, std::span<const uint64_t> parent, uint64_t start,
                        std::vector<PageRange>& out);

// Appends the pages of `entries` (one entry per page, the first for address `start`) that are
// private to the process: present or swapped out, and neither a file's page-cache page nor a guard. Adjacent pages
// extend the last range of `out`.
void append_private_pages(std::span<const uint64_t> entries, uint64_t start, std::vector<PageRange>& out);

// Finds the private pages of [start, end) in the process whose /proc/PID/pagemap is open as
// `pagemap_fd`. Uses the PAGEMAP_SCAN ioctl (Linux 6.7+), which also leaves out pages that map the
// shared zero page; on an older kernel it reads the pagemap entries instead.
Result<> find_private_pages(int pagemap_fd, uint64_t start, uint64_t end, std::vector<PageRange>& out);

// Appends the guard pages of `entries` (as append_private_pages).
void append_guard_pages(std::span<const uint64_t> entries, uint64_t start, std::vector<PageRange>& out);
// Finds the guard pages of [start, end), with PAGEMAP_SCAN's PAGE_IS_GUARD where the kernel has it.
Result<> find_guard_pages(int pagemap_fd, uint64_t start, uint64_t end, std::vector<PageRange>& out);

}  // namespace cryo
