#include "dump/page_index.h"

#include <iterator>

#include "base/page_size.h"

namespace cryo::dump {

void PageIndex::erase(uint64_t start, uint64_t end) {
  if (start >= end) return;
  auto it = entries_.lower_bound(start);
  if (it != entries_.begin()) {
    auto before = std::prev(it);
    if (before->second.end > start) it = before;
  }
  while (it != entries_.end() && it->first < end) {
    uint64_t from = it->first;
    Entry entry = it->second;
    it = entries_.erase(it);
    // What lies outside [start, end) stays, at its own offset.
    if (from < start) entries_.emplace(from, Entry{start, entry.offset});
    if (entry.end > end) it = entries_.emplace(end, Entry{entry.end, entry.offset + (end - from)}).first;
  }
}

void PageIndex::store(const image::PageRun& run) {
  uint64_t end = run.vaddr() + run.nr_pages() * kPageSize;
  erase(run.vaddr(), end);
  entries_.emplace(run.vaddr(), Entry{end, run.offset()});
}

void PageIndex::keep_only(const std::vector<PageRange>& keep) {
  uint64_t from = 0;
  for (const auto& range : keep) {
    erase(from, range.start);
    from = range.end;
  }
  erase(from, UINT64_MAX);
}

void PageIndex::write_runs(google::protobuf::RepeatedPtrField<image::PageRun>& out) const {
  out.Clear();
  out.Reserve(static_cast<int>(entries_.size()));
  for (const auto& [start, entry] : entries_) {
    uint64_t pages = (entry.end - start) / kPageSize;
    if (!out.empty()) {
      image::PageRun& last = *out.rbegin();
      uint64_t bytes = last.nr_pages() * kPageSize;
      if (last.vaddr() + bytes == start && last.offset() + bytes == entry.offset) {
        last.set_nr_pages(last.nr_pages() + pages);
        continue;
      }
    }
    image::PageRun* run = out.Add();
    run->set_vaddr(start);
    run->set_nr_pages(pages);
    run->set_offset(entry.offset);
  }
}

uint64_t PageIndex::pages() const {
  uint64_t total = 0;
  for (const auto& [start, entry] : entries_) total += (entry.end - start) / kPageSize;
  return total;
}

}  // namespace cryo::dump
