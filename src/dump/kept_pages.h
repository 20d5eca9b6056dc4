// Which pages of a batch read from a process go into its pages file, as spans of the batch buffer.
//
// The page writer reads up to a batch of a process's memory into one buffer with a single
// process_vm_readv, then writes only the pages worth storing (zero pages of anonymous memory are
// left out) straight from that buffer with writev: the spans here are its iovecs, so no page is
// copied to compact the buffer first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace cryo::dump {

// One piece of a batch: the process's pages [start, end), read into the buffer one after the other
// in batch order.
struct BatchSegment {
  uint64_t start;
  uint64_t end;
  bool skip_zero_pages;  // Anonymous memory: a zero page reads as zeros anyway and is not stored.
};

// Pages to store that follow each other both in the process and in the buffer: one iovec, one run
// of the pagemap.
struct KeptSpan {
  uint64_t vaddr;
  size_t at;  // Offset in the buffer.
  size_t bytes;
};

// The spans of `buffer` (holding `batch`'s pages in order) to store, in order; neighbouring kept
// pages are one span, also across segments that touch. Appends to `out` (cleared first).
void find_kept_pages(std::span<const BatchSegment> batch, const char* buffer, std::vector<KeptSpan>& out);

// True when a 4 KiB page holds only zero bytes.
bool is_zero_page(const void* page);

}  // namespace cryo::dump
