#include "restore/fork_footprint.h"

#include <sys/mman.h>

#include <fstream>
#include <string>

#include "kernel/proc_maps.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

namespace cryo::restore {

ForkFootprint collapse_own_memory() {
  constexpr uint64_t kHuge = 2u << 20;
  ForkFootprint footprint;
  std::ifstream in("/proc/self/maps");
  std::string line;
  while (std::getline(in, line)) {
    auto entry = parse_maps_line(line);
    if (!entry || !entry->read || !entry->write || entry->shared || entry->inode != 0) continue;
    if (!entry->path.empty() && entry->path != "[heap]") continue;  // [stack], [vvar] ... stay.
    footprint.anonymous_bytes += entry->end - entry->start;
    uint64_t start = (entry->start + kHuge - 1) & ~(kHuge - 1), end = entry->end & ~(kHuge - 1);
    if (end <= start) continue;
    void* at = reinterpret_cast<void*>(start);
    if (::madvise(at, end - start, MADV_HUGEPAGE) != 0) continue;
    if (::madvise(at, end - start, MADV_COLLAPSE) == 0) footprint.collapsed_bytes += end - start;
  }
  return footprint;
}

}  // namespace cryo::restore
