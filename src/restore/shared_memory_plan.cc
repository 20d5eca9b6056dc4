#include "restore/shared_memory_plan.h"

#include <algorithm>

#include "base/hex.h"

namespace cryo::restore {
namespace {

void append(std::vector<AddressRange>& out, uint64_t start, uint64_t end) {
  if (start >= end) return;
  if (!out.empty() && out.back().end == start) {
    out.back().end = end;
  } else {
    out.push_back({start, end});
  }
}

// The part of sorted `ranges` inside [start, end).
std::vector<AddressRange> clip(const std::vector<AddressRange>& ranges, uint64_t start, uint64_t end) {
  std::vector<AddressRange> out;
  auto it = std::lower_bound(ranges.begin(), ranges.end(), start, [](const AddressRange& r, uint64_t a) { return r.end <= a; });
  for (; it != ranges.end() && it->start < end; ++it) append(out, std::max(it->start, start), std::min(it->end, end));
  return out;
}

void append_all(std::vector<AddressRange>& out, const std::vector<AddressRange>& more) {
  for (const auto& r : more) append(out, r.start, r.end);
}

// Only private anonymous memory is seeded: it needs nothing but an address, while a file or memory
// object would have to be opened in the placeholder.
bool seedable(const image::Vma& vma) { return vma.kind() == image::VMA_ANON_PRIVATE && vma.object_id() == 0; }

// A child's VMA can stay where the parent's placeholder mapped `parent`: inside it, with the
// attributes the mapping was made with (the final protection is set later, by mprotect).
bool fits_in(const image::Vma& child, const image::Vma& parent) {
  return seedable(child) && seedable(parent) && parent.start() <= child.start() && child.end() <= parent.end() &&
         child.flags() == parent.flags() && child.madv_hugepage() == parent.madv_hugepage();
}

}  // namespace

std::vector<AddressRange> intersect_ranges(const std::vector<AddressRange>& a, const std::vector<AddressRange>& b) {
  std::vector<AddressRange> out;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    append(out, std::max(a[i].start, b[j].start), std::min(a[i].end, b[j].end));
    if (a[i].end < b[j].end) ++i; else ++j;
  }
  return out;
}

std::vector<AddressRange> subtract_ranges(const std::vector<AddressRange>& a, const std::vector<AddressRange>& b) {
  std::vector<AddressRange> out;
  size_t j = 0;
  for (const auto& r : a) {
    uint64_t cursor = r.start;
    while (j < b.size() && b[j].end <= cursor) ++j;
    for (size_t k = j; k < b.size() && b[k].start < r.end; ++k) {
      append(out, cursor, std::min(b[k].start, r.end));
      cursor = std::max(cursor, b[k].end);
    }
    append(out, cursor, r.end);
  }
  return out;
}

std::vector<AddressRange> stored_ranges(const image::Pagemap& pagemap) {
  std::vector<AddressRange> out;
  for (const auto& run : pagemap.runs()) append(out, run.vaddr(), run.vaddr() + run.nr_pages() * kPageSize);
  return out;
}

std::vector<AddressRange> shared_with_parent_ranges(const image::Pagemap& pagemap) {
  std::vector<AddressRange> out;
  for (const auto& span : pagemap.shared_with_parent()) append(out, span.vaddr(), span.vaddr() + span.nr_pages() * kPageSize);
  return out;
}

std::vector<image::PageRun> runs_within(const image::Pagemap& pagemap, const std::vector<AddressRange>& ranges) {
  std::vector<image::PageRun> out;
  const auto& runs = pagemap.runs();
  int k = 0;
  for (const auto& r : ranges) {
    while (k < runs.size() && runs[k].vaddr() + runs[k].nr_pages() * kPageSize <= r.start) ++k;
    for (int m = k; m < runs.size() && runs[m].vaddr() < r.end; ++m) {
      uint64_t run_end = runs[m].vaddr() + runs[m].nr_pages() * kPageSize;
      uint64_t start = std::max(runs[m].vaddr(), r.start), end = std::min(run_end, r.end);
      if (start >= end) continue;
      image::PageRun piece;
      piece.set_vaddr(start);
      piece.set_nr_pages((end - start) / kPageSize);
      piece.set_offset(runs[m].offset() + (start - runs[m].vaddr()));
      out.push_back(piece);
    }
  }
  return out;
}

int forking_parent(const ImageSet& images, const TreePlan& plan, size_t index) {
  uint32_t ppid = images.processes[index].entry.ppid();
  if (ppid == 0) return -1;
  auto parent = images.index.find(ppid);
  if (parent == images.index.end()) return -1;
  const auto& children = plan.processes[parent->second].children;
  if (std::find(children.begin(), children.end(), index) == children.end()) return -1;
  return static_cast<int>(parent->second);
}

std::vector<uint8_t> vmas_to_seed(const ImageSet& images, const TreePlan& plan, size_t index) {
  const ProcessImage& process = images.processes[index];
  const auto& vmas = process.mm.vmas();
  std::vector<uint8_t> seeds(static_cast<size_t>(vmas.size()), 0);
  if (process.zombie()) return seeds;
  std::vector<AddressRange> stored = stored_ranges(process.pagemap);
  for (size_t child : plan.processes[index].children) {
    const ProcessImage& c = images.processes[child];
    if (c.zombie() || c.pagemap.shared_with_parent_size() == 0 || forking_parent(images, plan, child) != static_cast<int>(index)) continue;
    std::vector<AddressRange> shared = intersect_ranges(shared_with_parent_ranges(c.pagemap), stored);
    int v = 0;
    for (const auto& r : shared) {
      while (v < vmas.size() && vmas[v].end() <= r.start) ++v;
      for (int w = v; w < vmas.size() && vmas[w].start() < r.end; ++w)
        if (seedable(vmas[w])) seeds[static_cast<size_t>(w)] = 1;
    }
  }
  return seeds;
}

std::vector<uint8_t> vmas_in_parent_memory(const ProcessImage& process, const ProcessImage* parent,
                                           const PreparedMemory* parent_memory) {
  const auto& vmas = process.mm.vmas();
  std::vector<uint8_t> out(static_cast<size_t>(vmas.size()), 0);
  if (!parent || !parent_memory || process.zombie()) return out;
  const auto& theirs = parent->mm.vmas();
  for (int i = 0; i < vmas.size(); ++i) {
    const auto& vma = vmas[i];
    auto it = std::lower_bound(theirs.begin(), theirs.end(), vma.start(), [](const image::Vma& p, uint64_t a) { return p.end() <= a; });
    if (it == theirs.end()) continue;
    size_t j = static_cast<size_t>(it - theirs.begin());
    if (j < parent_memory->kept.size() && parent_memory->kept[j] && fits_in(vma, *it)) out[static_cast<size_t>(i)] = 1;
  }
  return out;
}

PreparedMemory plan_prepared_memory(const ProcessImage& process, const ProcessImage* parent, const PreparedMemory* parent_memory,
                                    const std::vector<uint8_t>& seeds, const std::vector<uint8_t>& seeded) {
  const auto& vmas = process.mm.vmas();
  PreparedMemory out;
  out.kept.assign(static_cast<size_t>(vmas.size()), 0);
  if (process.zombie()) return out;
  std::vector<AddressRange> stored = stored_ranges(process.pagemap);
  // Pages in place by inheritance: the dump saw them shared, both images store them, and the
  // parent had them in place when it forked.
  std::vector<AddressRange> inherited;
  if (parent && parent_memory)
    inherited = intersect_ranges(intersect_ranges(shared_with_parent_ranges(process.pagemap), stored), parent_memory->final_pages);
  std::vector<uint8_t> in_parent = vmas_in_parent_memory(process, parent, parent_memory);
  auto flag = [](const std::vector<uint8_t>& v, size_t i) { return i < v.size() && v[i]; };
  for (int i = 0; i < vmas.size(); ++i) {
    size_t at = static_cast<size_t>(i);
    const auto& vma = vmas[i];
    std::vector<AddressRange> mine = in_parent[at] ? clip(inherited, vma.start(), vma.end()) : std::vector<AddressRange>{};
    bool by_inheritance = in_parent[at] && (!mine.empty() || flag(seeds, at));
    bool fresh = !in_parent[at] && flag(seeds, at) && flag(seeded, at);
    if (!by_inheritance && !fresh) continue;
    out.kept[at] = 1;
    if (flag(seeds, at)) {
      // The placeholder writes every page of its own that is not in place yet: its children may share any of them.
      std::vector<AddressRange> own = clip(stored, vma.start(), vma.end());
      append_all(out.written_before_fork, subtract_ranges(own, mine));
      append_all(out.final_pages, own);
    } else {
      append_all(out.final_pages, mine);
    }
  }
  return out;
}

std::string unseeded_note(const ProcessImage& process, int vma) {
  const auto& v = process.mm.vmas(vma);
  return "pid " + std::to_string(process.pid()) + ": mapping " + hex(v.start()) + "-" + hex(v.end()) +
         " could not be mapped before its children were forked (the placeholder's own memory is there); they get their "
         "own copy of the pages they shared with it";
}

}  // namespace cryo::restore
