// Makes cryo's own memory cheap to fork. Every placeholder is a fork of cryo (or of a placeholder),
// and cryo holds every image of the tree in memory (image_set.h), so each fork copies page tables
// for memory that grows with the tree, and each placeholder unmaps it all again: a cost per process
// that grows with the number of processes (400 processes: 49 MiB, 12,000 page table entries copied
// and freed 400 times). Collapsed into transparent huge pages, the same memory is 25 page table
// entries a fork.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cryo::restore {

struct ForkFootprint {
  uint64_t collapsed_bytes = 0;  // Anonymous memory now backed by huge pages.
  uint64_t anonymous_bytes = 0;  // Writable private anonymous memory in all.
};

// Below this many processes restore leaves its memory as it is: the collapse (tens of ms for
// 50 MiB here) would cost more than the few forks save.
constexpr size_t kCollapseFromProcesses = 16;

// Asks for huge pages (MADV_HUGEPAGE, then MADV_COLLAPSE, synchronous since Linux 6.1) on the
// 2 MiB-aligned parts of cryo's writable private anonymous mappings. Only an optimization: where
// the kernel refuses, memory stays as it is.
ForkFootprint collapse_own_memory();

}  // namespace cryo::restore
