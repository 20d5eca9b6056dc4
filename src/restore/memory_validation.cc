// The memory part of image validation: VMAs and the page runs that fill them.
#include <sys/mman.h>

#include "base/hex.h"
#include "restore/address_plan.h"
#include "restore/image_validation.h"

namespace cryo::restore {
namespace {

constexpr uint64_t kVsyscallStart = 0xffffffffff600000;

std::string range_name(uint64_t start, uint64_t end) { return hex(start) + "-" + hex(end); }

bool is_special(image::VmaKind kind) {
  return kind == image::VMA_VDSO || kind == image::VMA_VVAR || kind == image::VMA_VVAR_VCLOCK || kind == image::VMA_VSYSCALL;
}

const char* special_name(image::VmaKind kind) {
  switch (kind) {
    case image::VMA_VDSO: return "[vdso]";
    case image::VMA_VVAR: return "[vvar]";
    case image::VMA_VVAR_VCLOCK: return "[vvar_vclock]";
    case image::VMA_VSYSCALL: return "[vsyscall]";
    default: return "";
  }
}

// The per-mapping advice of vm_flag_table.cc: combinations the kernel cannot give, and guard ranges
// that lie outside their mapping.
template <typename Problem>
void validate_advice(const image::Vma& vma, const std::string& name, Problem& problem) {
  // The kernel's own mappings keep the kernel's flags (older images recorded their dd): restore
  // moves them and applies nothing of the table to them.
  if (is_special(vma.kind())) {
    if (vma.guard_regions_size() > 0) problem(name + ": the kernel's own mapping has guard regions");
    return;
  }
  if (vma.lock_onfault() && !vma.locked()) problem(name + ": lock on fault (lf) without a lock (lo)");
  if (vma.madv_sequential() && vma.madv_random()) problem(name + ": both MADV_SEQUENTIAL and MADV_RANDOM");
  if (vma.madv_hugepage() && vma.madv_nohugepage()) problem(name + ": both MADV_HUGEPAGE and MADV_NOHUGEPAGE");
  if (vma.droppable() && vma.kind() != image::VMA_ANON_PRIVATE) problem(name + ": droppable but not private anonymous memory");
  if (vma.guard_regions_size() > 0 && !vma.maybe_guard()) problem(name + ": guard regions without VmFlags gu");
  if (vma.guard_regions_size() > static_cast<int>((vma.end() - vma.start()) / kPageSize)) {
    problem(name + ": more guard regions than pages");
    return;
  }
  uint64_t previous = vma.start();
  for (const auto& g : vma.guard_regions()) {
    if (g.start() >= g.end() || g.start() % kPageSize || g.end() % kPageSize || g.start() < previous || g.end() > vma.end())
      problem(name + ": guard region " + range_name(g.start(), g.end()) + " is malformed, out of order or outside the mapping");
    previous = g.end();
  }
}

}  // namespace

void validate_memory(const ProcessImage& process, std::vector<std::string>* problems) {
  std::string where = "pid " + std::to_string(process.pid()) + ": ";
  auto problem = [&](const std::string& text) { problems->push_back(where + text); };
  const auto& vmas = process.mm.vmas();
  if (vmas.size() > kMaxVmas) {
    problem("has " + std::to_string(vmas.size()) + " memory mappings, more than cryo accepts");
    return;
  }
  uint32_t mlockall = process.mm.mlockall_flags();
  if (mlockall & ~static_cast<uint32_t>(MCL_FUTURE | MCL_ONFAULT) || (mlockall != 0 && !(mlockall & MCL_FUTURE)))
    problem("mlockall flags " + hex(mlockall) + " are not MCL_FUTURE with or without MCL_ONFAULT");
  uint64_t previous_end = 0;
  bool seen_special[8] = {};
  for (const auto& vma : vmas) {
    std::string name = "mapping " + range_name(vma.start(), vma.end());
    if (vma.start() >= vma.end() || vma.start() % kPageSize || vma.end() % kPageSize) {
      problem(name + " is empty or not page aligned");
      continue;
    }
    if (vma.start() < previous_end) problem(name + " overlaps or is out of order with the one before");
    if (vma.dev_zero() && (vma.kind() != image::VMA_ANON_PRIVATE || vma.object_id() != 0))
      problem(name + ": only private anonymous memory can be a mapping of /dev/zero");
    previous_end = vma.end();
    if (vma.prot() & ~static_cast<uint32_t>(PROT_READ | PROT_WRITE | PROT_EXEC))
      problem(name + ": protection " + hex(vma.prot()) + " is invalid");
    bool shared = vma.flags() & MAP_SHARED, priv = vma.flags() & MAP_PRIVATE;
    switch (vma.kind()) {
      case image::VMA_ANON_PRIVATE:
      case image::VMA_FILE_PRIVATE:
        if (!priv || shared) problem(name + ": a private mapping must have MAP_PRIVATE only");
        break;
      case image::VMA_SYSV_SHM:
        // The rest (its segment, its size, its name) is checked against sysv.img (sysv_ipc.cc).
        if (!shared || priv) problem(name + ": a shared mapping must have MAP_SHARED only");
        if (vma.pgoff() != 0) problem(name + ": a SysV attachment starts at offset 0 of its segment");
        if (vma.object_id() != 0) problem(name + ": a SysV attachment is no memory object");
        break;
      case image::VMA_ANON_SHARED:
      case image::VMA_FILE_SHARED:
        if (!shared || priv) problem(name + ": a shared mapping must have MAP_SHARED only");
        break;
      case image::VMA_VDSO:
      case image::VMA_VVAR:
      case image::VMA_VVAR_VCLOCK:
      case image::VMA_VSYSCALL:
        if (seen_special[vma.kind()]) problem(name + ": a second " + special_name(vma.kind()));
        seen_special[vma.kind()] = true;
        if (vma.path() != special_name(vma.kind()))
          problem(name + ": a " + special_name(vma.kind()) + " mapping named '" + vma.path() + "'");
        break;
      default:
        problem(name + ": unknown kind " + std::to_string(static_cast<int>(vma.kind())));
        continue;
    }
    bool user = is_user_address(vma.end() - 1);
    if (vma.kind() == image::VMA_VSYSCALL ? vma.start() != kVsyscallStart : !user)
      problem(name + " is outside user space");
    validate_advice(vma, name, problem);
    if ((vma.kind() == image::VMA_FILE_PRIVATE || vma.kind() == image::VMA_FILE_SHARED) && vma.object_id() == 0) {
      if (!is_clean_absolute_path(vma.path())) problem(name + ": file '" + vma.path() + "' is not a clean absolute path");
      if (vma.pgoff() % kPageSize) problem(name + ": file offset " + hex(vma.pgoff()) + " is not page aligned");
    }
  }

  // rseq areas must lie in writable memory: the kernel writes cpu_id there on every return to user space.
  for (const auto& t : process.core.threads()) {
    uint64_t address = t.rseq().address();
    if (address == 0) continue;
    bool inside = false;
    for (const auto& vma : vmas)
      if (vma.start() <= address && address + t.rseq().length() <= vma.end() && (vma.prot() & PROT_WRITE)) inside = true;
    if (!inside) problem("thread " + std::to_string(t.tid()) + ": rseq area " + hex(address) + " is not in writable memory");
  }

  const auto& pagemap = process.pagemap;
  // The bytes of page data the runs index: the raw file, or what the compressed chunks hold.
  uint64_t data_size = process.pages_file_size;
  if (pagemap.has_compression()) {
    size_t before = problems->size();
    validate_page_chunks(process, problems);
    if (problems->size() != before) return;
    data_size = pagemap.pages_file_size();
  } else if (pagemap.pages_file_size() != process.pages_file_size) {
    problem("pagemap says the pages file holds " + std::to_string(pagemap.pages_file_size()) + " bytes, the inventory " +
            std::to_string(process.pages_file_size));
  }
  if (pagemap.runs_size() > kMaxPageRuns) {
    problem("has " + std::to_string(pagemap.runs_size()) + " page runs, more than cryo accepts");
    return;
  }
  uint64_t previous_run_end = 0;
  int vma_index = 0;
  for (const auto& run : pagemap.runs()) {
    std::string name = "page run at " + hex(run.vaddr());
    if (run.nr_pages() == 0 || run.nr_pages() > (kUserAddressLimit / kPageSize) || run.vaddr() % kPageSize ||
        run.offset() % kPageSize) {
      problem(name + " (" + std::to_string(run.nr_pages()) + " pages at offset " + hex(run.offset()) + ") is malformed");
      continue;
    }
    uint64_t bytes = run.nr_pages() * kPageSize;
    uint64_t end = run.vaddr() + bytes;
    if (run.vaddr() < previous_run_end) problem(name + " overlaps or is out of order with the run before");
    previous_run_end = end;
    if (run.offset() > data_size || bytes > data_size - run.offset())
      problem(name + ": bytes " + hex(run.offset()) + "+" + hex(bytes) + " are beyond the end of the pages file");
    // Every page must fall in a mapping that restore fills (not a special or shared file one).
    uint64_t cursor = run.vaddr();
    while (vma_index < vmas.size() && vmas[vma_index].end() <= cursor) ++vma_index;
    int k = vma_index;
    while (cursor < end) {
      if (k >= vmas.size() || vmas[k].start() > cursor) {
        problem(name + ": page " + hex(cursor) + " is in no mapping");
        break;
      }
      const auto& vma = vmas[k];
      for (const auto& g : vma.guard_regions())
        if (g.start() < end && run.vaddr() < g.end()) problem(name + ": stores pages in guard region " + range_name(g.start(), g.end()));
      if (is_special(vma.kind()) || vma.kind() == image::VMA_FILE_SHARED) {
        problem(name + ": stores pages of " + (vma.kind() == image::VMA_FILE_SHARED ? "a shared file mapping" : "a kernel mapping") +
                " " + range_name(vma.start(), vma.end()));
        break;
      }
      cursor = vma.end();
      ++k;
    }
  }

  // Pages shared with the parent are stored pages of this process (restore writes them from its own
  // bytes wherever they are not in place), of a process that has a parent.
  const auto& shared = pagemap.shared_with_parent();
  if (shared.empty()) return;
  if (process.entry.ppid() == 0) problem("has pages shared with a parent, but no parent");
  if (shared.size() > kMaxPageRuns) {
    problem("has " + std::to_string(shared.size()) + " ranges of pages shared with its parent, more than cryo accepts");
    return;
  }
  uint64_t previous_shared_end = 0;
  int run_index = 0;
  const auto& runs = pagemap.runs();
  for (const auto& span : shared) {
    std::string name = "range of pages shared with the parent at " + hex(span.vaddr());
    if (span.nr_pages() == 0 || span.nr_pages() > (kUserAddressLimit / kPageSize) || span.vaddr() % kPageSize ||
        span.vaddr() >= kUserAddressLimit) {
      problem(name + " (" + std::to_string(span.nr_pages()) + " pages) is malformed");
      continue;
    }
    uint64_t end = span.vaddr() + span.nr_pages() * kPageSize;
    if (span.vaddr() < previous_shared_end) problem(name + " overlaps or is out of order with the range before");
    previous_shared_end = end;
    // Inside the stored runs, which may be split where the pages file is not contiguous.
    uint64_t cursor = span.vaddr();
    while (run_index < runs.size() && runs[run_index].vaddr() + runs[run_index].nr_pages() * kPageSize <= cursor) ++run_index;
    int r = run_index;
    while (cursor < end) {
      if (r >= runs.size() || runs[r].vaddr() > cursor) {
        problem(name + ": page " + hex(cursor) + " is not stored");
        break;
      }
      cursor = runs[r].vaddr() + runs[r].nr_pages() * kPageSize;
      ++r;
    }
  }
}

}  // namespace cryo::restore
