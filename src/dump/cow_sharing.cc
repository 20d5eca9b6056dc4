#include "dump/cow_sharing.h"

#include <fcntl.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

#include "base/file_util.h"
#include "base/logging.h"
#include "base/page_size.h"
#include "base/unique_fd.h"
#include "image/page_data.h"
#include "kernel/proc_maps.h"

namespace cryo::dump {
namespace {

constexpr size_t kBatchPages = 64 * 1024;  // 512 KiB of entries per read: 256 MiB of memory.

UniqueFd open_pagemap(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/pagemap";
  return UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
}

// The offset in the pages file of the stored page at `vaddr`, if it is stored.
std::optional<uint64_t> offset_of(const image::Pagemap& pagemap, uint64_t vaddr) {
  const auto& runs = pagemap.runs();
  auto it = std::upper_bound(runs.begin(), runs.end(), vaddr, [](uint64_t a, const image::PageRun& r) { return a < r.vaddr(); });
  if (it == runs.begin()) return std::nullopt;
  --it;
  if (vaddr >= it->vaddr() + it->nr_pages() * kPageSize) return std::nullopt;
  return it->offset() + (vaddr - it->vaddr());
}

}  // namespace

Result<uint64_t> confirm_shared_bytes(const DirFd& dir, const std::string& child_pages, image::Pagemap& child,
                                      const std::string& parent_pages, const image::Pagemap& parent) {
  if (child.shared_with_parent_size() == 0) return 0;
  // Just written: the page cache has them. Compressed ones are decompressed a chunk at a time, and
  // the pages compared are in the order of the files, so each chunk is decompressed once.
  ASSIGN_OR_RETURN(image::PageData mine, image::PageData::open(dir, child_pages, child, false));
  ASSIGN_OR_RETURN(image::PageData theirs, image::PageData::open(dir, parent_pages, parent, false));
  char mine_page[kPageSize], their_page[kPageSize];
  std::vector<PageRange> same;
  uint64_t dropped = 0;
  for (const auto& span : child.shared_with_parent()) {
    for (uint64_t page = span.vaddr(); page < span.vaddr() + span.nr_pages() * kPageSize; page += kPageSize) {
      auto at = offset_of(child, page);
      auto there = offset_of(parent, page);
      bool equal = false;
      if (at && there) {
        RETURN_IF_ERROR(mine.copy(*at, kPageSize, mine_page));
        RETURN_IF_ERROR(theirs.copy(*there, kPageSize, their_page));
        equal = std::memcmp(mine_page, their_page, kPageSize) == 0;
      }
      if (equal) {
        if (!same.empty() && same.back().end == page) same.back().end = page + kPageSize;
        else same.push_back({page, page + kPageSize});
      } else {
        ++dropped;
      }
    }
  }
  record_shared_with_parent(same, child);
  return dropped;
}

Result<std::vector<PageRange>> find_pages_shared_with_parent(pid_t pid, pid_t parent) {
  std::vector<PageRange> shared;
  std::string maps_path = "/proc/" + std::to_string(pid) + "/maps";
  ASSIGN_OR_RETURN(std::string maps_text, read_file(maps_path));
  ASSIGN_OR_RETURN(std::vector<MapsEntry> maps, parse_proc_maps(maps_text));
  UniqueFd own = open_pagemap(pid);
  if (!own.valid()) return fail_errno("open(/proc/" + std::to_string(pid) + "/pagemap)");
  UniqueFd theirs = open_pagemap(parent);
  if (!theirs.valid()) {
    logging::get("dump")->debug("pid {}: parent {} has no pagemap to compare with: {}", pid, parent, std::strerror(errno));
    return shared;
  }
  // Only pages the process has (PAGEMAP_SCAN skips the rest quickly), in its private mappings.
  std::vector<PageRange> present;
  for (const auto& e : maps) {
    if (e.shared || (!e.path.empty() && e.path.front() == '[' && e.path != "[heap]" && e.path != "[stack]")) continue;
    RETURN_IF_ERROR(find_private_pages(own.get(), e.start, e.end, present));
  }
  // Sized to the largest range, not the batch: zeroing 1 MiB of fresh memory per process showed in
  // the profile of a dump of 1,000 small processes (page faults under memset; the step took 0.36 s).
  size_t largest = 0;
  for (const auto& r : present) largest = std::max<size_t>(largest, (r.end - r.start) / kPageSize);
  std::vector<uint64_t> mine(std::min(kBatchPages, largest)), parents(mine.size());
  for (const auto& r : present) {
    for (uint64_t at = r.start; at < r.end;) {
      size_t count = std::min<uint64_t>(kBatchPages, (r.end - at) / kPageSize);
      RETURN_IF_ERROR(read_pagemap_entries(own.get(), at, count, mine.data()));
      if (auto read = read_pagemap_entries(theirs.get(), at, count, parents.data()); !read) {
        logging::get("dump")->debug("pid {}: parent {}'s pagemap at {:#x}: {}", pid, parent, at, read.error().message);
        return std::vector<PageRange>{};
      }
      append_same_frames(std::span(mine.data(), count), std::span(parents.data(), count), at, shared);
      at += count * kPageSize;
    }
  }
  return shared;
}

void record_shared_with_parent(const std::vector<PageRange>& shared, image::Pagemap& pagemap) {
  pagemap.clear_shared_with_parent();
  size_t s = 0;
  for (const auto& run : pagemap.runs()) {
    uint64_t start = run.vaddr(), end = run.vaddr() + run.nr_pages() * kPageSize;
    while (s < shared.size() && shared[s].end <= start) ++s;
    for (size_t k = s; k < shared.size() && shared[k].start < end; ++k) {
      uint64_t from = std::max(start, shared[k].start), to = std::min(end, shared[k].end);
      int n = pagemap.shared_with_parent_size();
      // Runs split where the pages file is not contiguous: their pieces join again here.
      if (n > 0) {
        auto* last = pagemap.mutable_shared_with_parent(n - 1);
        if (last->vaddr() + last->nr_pages() * kPageSize == from) {
          last->set_nr_pages(last->nr_pages() + (to - from) / kPageSize);
          continue;
        }
      }
      auto* span = pagemap.add_shared_with_parent();
      span->set_vaddr(from);
      span->set_nr_pages((to - from) / kPageSize);
    }
  }
}

}  // namespace cryo::dump
