// cryo show --mems: every process's mappings, with their range, size, protection and backing, and
// where their pages are: stored in the process's pages file (and of those, how many are still
// shared copy-on-write with the parent), stored once in a shared memory object, read from the
// backing file, or not stored at all (never touched, zero, or the kernel's own, like the vdso).
#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "base/display_text.h"
#include "base/page_size.h"
#include "base/text_table.h"
#include "image/summary_renderers.h"

namespace cryo::image {
namespace {

// Page ranges from a list an image gives (which may overlap or overflow in a hostile one): merged,
// so that counting the pages inside any range is two binary searches.
class PageRanges {
 public:
  void add(uint64_t start, uint64_t pages) {
    if (pages == 0 || pages > (UINT64_MAX - start) / kPageSize) return;
    ranges_.emplace_back(start, start + pages * kPageSize);
  }
  void finish() {
    std::sort(ranges_.begin(), ranges_.end());
    std::vector<std::pair<uint64_t, uint64_t>> merged;
    for (const auto& range : ranges_) {
      if (!merged.empty() && range.first <= merged.back().second)
        merged.back().second = std::max(merged.back().second, range.second);
      else
        merged.push_back(range);
    }
    ranges_ = std::move(merged);
    prefix_.assign(1, 0);
    for (const auto& [begin, end] : ranges_) prefix_.push_back(prefix_.back() + (end - begin));
  }
  // Pages of [start, end) the ranges cover.
  uint64_t count(uint64_t start, uint64_t end) const {
    if (end <= start || ranges_.empty()) return 0;
    // First range ending after start, first range beginning at or after end.
    size_t first = std::upper_bound(ranges_.begin(), ranges_.end(), start,
                                    [](uint64_t value, const auto& range) { return value < range.second; }) -
                   ranges_.begin();
    size_t last = std::lower_bound(ranges_.begin(), ranges_.end(), end,
                                   [](const auto& range, uint64_t value) { return range.first < value; }) -
                  ranges_.begin();
    if (first >= last) return 0;
    uint64_t bytes = prefix_[last] - prefix_[first];
    if (ranges_[first].first < start) bytes -= start - ranges_[first].first;
    if (ranges_[last - 1].second > end) bytes -= ranges_[last - 1].second - end;
    return bytes / kPageSize;
  }

 private:
  std::vector<std::pair<uint64_t, uint64_t>> ranges_;
  std::vector<uint64_t> prefix_;
};

struct PageCounts {
  uint64_t total = 0, image = 0, cow = 0, object = 0, file = 0, not_stored = 0;
  void add(const PageCounts& other) {
    total += other.total, image += other.image, cow += other.cow, object += other.object, file += other.file,
        not_stored += other.not_stored;
  }
};

std::string vma_kind_name(VmaKind kind) {
  switch (kind) {
    case VMA_ANON_PRIVATE: return "anon-private";
    case VMA_FILE_PRIVATE: return "file-private";
    case VMA_FILE_SHARED: return "file-shared";
    case VMA_ANON_SHARED: return "anon-shared";
    case VMA_VDSO: return "vdso";
    case VMA_VVAR: return "vvar";
    case VMA_VVAR_VCLOCK: return "vvar-vclock";
    case VMA_VSYSCALL: return "vsyscall";
    case VMA_SYSV_SHM: return "sysv-shm";
    default: return "kind " + std::to_string(static_cast<int>(kind));
  }
}

std::string protection(const Vma& vma) {
  std::string text = "---p";
  if (vma.prot() & PROT_READ) text[0] = 'r';
  if (vma.prot() & PROT_WRITE) text[1] = 'w';
  if (vma.prot() & PROT_EXEC) text[2] = 'x';
  if (vma.flags() & MAP_SHARED) text[3] = 's';
  return text;
}

std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

std::string human_size(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "K", "M", "G", "T", "P", "E"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) value /= 1024, ++unit;
  char text[32];
  if (unit == 0 || value >= 100 || value == static_cast<double>(static_cast<uint64_t>(value)))
    std::snprintf(text, sizeof text, "%.0f%s", value, kUnits[unit]);
  else
    std::snprintf(text, sizeof text, "%.1f%s", value, kUnits[unit]);
  return text;
}

class ProcessPages {
 public:
  ProcessPages(const SummaryProcess& process, const std::map<uint64_t, const MemoryObject*>& objects,
               std::map<uint64_t, PageRanges>& object_pages)
      : objects_(objects), object_pages_(object_pages) {
    for (const auto& run : process.pagemap.runs()) stored_.add(run.vaddr(), run.nr_pages());
    for (const auto& span : process.pagemap.shared_with_parent()) cow_.add(span.vaddr(), span.nr_pages());
    stored_.finish();
    cow_.finish();
  }

  std::string backing(const Vma& vma) const {
    if (vma.kind() == VMA_SYSV_SHM) return "SysV shm id " + std::to_string(vma.shmid());
    if (vma.object_id() != 0) {
      auto found = objects_.find(vma.object_id());
      if (found == objects_.end()) return "object " + std::to_string(vma.object_id()) + " (not in objects.img)";
      const MemoryObject& object = *found->second;
      if (object.kind() == OBJECT_MEMFD) return "memfd:" + terminal_safe(object.name());
      if (object.kind() == OBJECT_DELETED_FILE) return terminal_safe(object.name()) + " (deleted)";
      return vma.path().empty() ? "shared memory" : terminal_safe(vma.path());
    }
    return vma.path().empty() ? "anonymous" : terminal_safe(vma.path());
  }

  PageCounts count(const Vma& vma) {
    PageCounts counts;
    if (vma.end() <= vma.start()) return counts;
    counts.total = (vma.end() - vma.start()) / kPageSize;
    switch (vma.kind()) {
      case VMA_VDSO:
      case VMA_VVAR:
      case VMA_VVAR_VCLOCK:
      case VMA_VSYSCALL:
        counts.not_stored = counts.total;  // The kernel's own pages.
        return counts;
      case VMA_SYSV_SHM:
        counts.object = counts.total;  // The whole segment is in sysv.img.
        return counts;
      default:
        break;
    }
    if (vma.object_id() != 0) {
      counts.object = std::min(counts.total, object_ranges(vma.object_id()).count(
                                                 vma.pgoff(), vma.pgoff() + std::min(vma.end() - vma.start(), UINT64_MAX - vma.pgoff())));
    } else if (vma.kind() != VMA_FILE_SHARED) {
      counts.image = std::min(counts.total, stored_.count(vma.start(), vma.end()));
      counts.cow = std::min(counts.image, cow_.count(vma.start(), vma.end()));
    }
    uint64_t rest = counts.total - counts.image - counts.object;
    bool file_backed = (vma.kind() == VMA_FILE_PRIVATE || vma.kind() == VMA_FILE_SHARED) && vma.object_id() == 0;
    (file_backed ? counts.file : counts.not_stored) = rest;
    return counts;
  }

 private:
  const PageRanges& object_ranges(uint64_t id) {
    auto [it, added] = object_pages_.try_emplace(id);
    if (added) {
      auto found = objects_.find(id);
      if (found != objects_.end())
        for (const auto& run : found->second->runs()) it->second.add(run.offset(), run.nr_pages());
      it->second.finish();
    }
    return it->second;
  }

  const std::map<uint64_t, const MemoryObject*>& objects_;
  std::map<uint64_t, PageRanges>& object_pages_;
  PageRanges stored_, cow_;
};

std::string counts_json(const PageCounts& counts) {
  return "{\"total\":" + std::to_string(counts.total) + ",\"in_image\":" + std::to_string(counts.image) +
         ",\"cow_shared\":" + std::to_string(counts.cow) + ",\"in_object\":" + std::to_string(counts.object) +
         ",\"from_file\":" + std::to_string(counts.file) + ",\"not_stored\":" + std::to_string(counts.not_stored) + "}";
}

}  // namespace

std::string render_memory_summary(const SummaryInput& input, PrintFormat format) {
  std::map<uint64_t, const MemoryObject*> objects;
  for (const auto& object : input.objects.objects()) objects.emplace(object.id(), &object);
  std::map<uint64_t, PageRanges> object_pages;
  const bool json = format == PrintFormat::Json;
  std::string out = json ? "{\"page_size\":" + std::to_string(kPageSize) + ",\"processes\":[" : "";
  for (size_t p = 0; p < input.processes.size(); ++p) {
    const SummaryProcess& process = input.processes[p];
    const uint32_t pid = process.entry.pid();
    ProcessPages pages(process, objects, object_pages);
    PageCounts total;
    std::vector<std::vector<std::string>> rows = {
        {"START", "END", "SIZE", "PROT", "KIND", "PAGES", "IMAGE", "COW", "OBJECT", "FILE", "NOT-STORED", "BACKING"}};
    if (json)
      out += std::string(p ? "," : "") + "{\"pid\":" + std::to_string(pid) + ",\"comm\":" + json_string(process.core.comm()) +
             ",\"zombie\":" + (process.entry.zombie() ? "true" : "false") + ",\"mappings\":[";
    for (int i = 0; i < process.mm.vmas_size(); ++i) {
      const Vma& vma = process.mm.vmas(i);
      PageCounts counts = pages.count(vma);
      total.add(counts);
      uint64_t size = vma.end() > vma.start() ? vma.end() - vma.start() : 0;
      if (json) {
        out += std::string(i ? "," : "") + "{\"start\":" + json_string(hex(vma.start())) + ",\"end\":" + json_string(hex(vma.end())) +
               ",\"size\":" + std::to_string(size) + ",\"prot\":" + json_string(protection(vma)) +
               ",\"kind\":" + json_string(vma_kind_name(vma.kind())) + ",\"backing\":" + json_string(pages.backing(vma)) +
               ",\"offset\":" + std::to_string(vma.pgoff()) + ",\"pages\":" + counts_json(counts) + "}";
      } else {
        rows.push_back({hex(vma.start()), hex(vma.end()), human_size(size), protection(vma), vma_kind_name(vma.kind()),
                        std::to_string(counts.total), std::to_string(counts.image), std::to_string(counts.cow),
                        std::to_string(counts.object), std::to_string(counts.file), std::to_string(counts.not_stored),
                        pages.backing(vma)});
      }
    }
    if (json) {
      out += "],\"total\":" + counts_json(total) + "}";
      continue;
    }
    if (process.entry.zombie()) {
      out += "pid " + std::to_string(pid) + ": zombie, no memory\n";
      continue;
    }
    out += "pid " + std::to_string(pid) + " (" + terminal_safe(process.core.comm()) + "): " +
           std::to_string(process.mm.vmas_size()) + " mappings, " + std::to_string(total.total) + " pages: " +
           std::to_string(total.image) + " in the image (" + std::to_string(total.cow) + " shared copy-on-write with the parent), " +
           std::to_string(total.object) + " in shared objects, " + std::to_string(total.file) + " from files, " +
           std::to_string(total.not_stored) + " not stored\n";
    out += format_table(rows, "  ");
  }
  if (json) out += "]}\n";
  return out;
}

}  // namespace cryo::image
