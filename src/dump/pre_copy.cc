#include "dump/pre_copy.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "base/fault_injection.h"
#include "base/file_util.h"
#include "base/interrupt.h"
#include "base/logging.h"
#include "base/page_size.h"
#include "dump/freezer.h"
#include "kernel/proc_status.h"
#include "state/process/seccomp.h"

namespace cryo::dump {
namespace {

using Clock = std::chrono::steady_clock;

auto log() { return logging::get("dump"); }

double ms_since(Clock::time_point start) { return std::chrono::duration<double, std::milli>(Clock::now() - start).count(); }

// Rounds stop when one copied less than this (the freeze then copies about as much, a few ms), or
// after the last one: a tree that writes faster than cryo copies never gets there.
constexpr uint64_t kSmallRoundBytes = 4 << 20;
constexpr uint32_t kMaxRounds = 8;

bool is_userfaultfd_flag(std::string_view mnemonic) { return mnemonic == "um" || mnemonic == "uw" || mnemonic == "ui"; }

// Private anonymous memory that the kernel can write-protect and the dump stores page by page.
bool can_track(const MapsEntry& e) {
  const std::string& path = e.path;
  bool anonymous = path.empty() || path == "[heap]" || path == "[stack]" || path.starts_with("[anon:");
  if (!anonymous || e.shared || e.vm_flags.io || e.vm_flags.pfnmap || e.vm_flags.hugetlb || e.vm_flags.droppable) return false;
  return std::none_of(e.vm_flags.all.begin(), e.vm_flags.all.end(), is_userfaultfd_flag);
}

// Why the process cannot be tracked: it uses userfaultfd itself (an fd, or mappings registered).
std::optional<std::string> uses_userfaultfd(pid_t pid, const std::vector<MapsEntry>& maps) {
  for (const auto& e : maps)
    if (std::any_of(e.vm_flags.all.begin(), e.vm_flags.all.end(), is_userfaultfd_flag))
      return "it has mappings registered with userfaultfd";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code link_ec;
    if (std::filesystem::read_symlink(entry.path(), link_ec).string() == "anon_inode:[userfaultfd]")
      return "it holds a userfaultfd (fd " + entry.path().filename().string() + ")";
  }
  return std::nullopt;
}

void append(std::vector<PageRange>& out, uint64_t start, uint64_t end) {
  if (start >= end) return;
  if (!out.empty() && out.back().end == start) {
    out.back().end = end;
  } else {
    out.push_back({start, end});
  }
}

}  // namespace

struct PreCopy::Process {
  Process(pid_t host_pid, DirtyTracker t) : pid(host_pid), tracker(std::move(t)) {}
  pid_t pid = 0;
  DirtyTracker tracker;
  std::vector<PageRange> ranges;   // Registered with the tracker, sorted.
  std::vector<PageRange> trusted;  // At the freeze: mappings whose tracking held (hide_tracking).
  UniqueFd pagemap;                // /proc/PID/pagemap, for the first round.
  std::string staging;             // The staging pages file's name in the directory.
  std::optional<PagePasses> pages;
  PageIndex index;
  bool claimed = false;
};

PreCopy::PreCopy(const DirFd& dir) : dir_(&dir) {}
PreCopy::PreCopy(PreCopy&&) noexcept = default;
PreCopy& PreCopy::operator=(PreCopy&&) noexcept = default;
PreCopy::~PreCopy() { stop(); }

Result<PreCopy> PreCopy::start(pid_t init, const DirFd& dir, bool compress) {
  PreCopy pre(dir);
  auto seized = Clock::now();
  {
    ASSIGN_OR_RETURN(Freezer freezer, Freezer::freeze(init));
    for (auto& process : freezer.processes()) {
      if (process.zombie) continue;
      ASSIGN_OR_RETURN(std::vector<MapsEntry> maps, read_proc_smaps(process.pid));
      if (auto why = uses_userfaultfd(process.pid, maps)) {
        log()->info("pid {}: no pre-copy, {}: its memory is read at the freeze", process.pid, *why);
        continue;
      }
      // Attaching injects calls, which a seccomp filter may forbid or kill on (state/process/seccomp.h).
      if (auto status = read_proc_status(process.pid); status && status->seccomp != 0)
        RETURN_IF_ERROR(process.threads.front().suspend_seccomp());
      auto tracker = DirtyTracker::attach(process.threads.front());
      if (!tracker) {
        RETURN_IF_ERROR(check_interrupt());
        log()->info("pid {}: no pre-copy, {}: its memory is read at the freeze", process.pid, tracker.error().message);
        continue;
      }
      auto p = std::make_unique<Process>(process.pid, std::move(*tracker));
      uint64_t untracked = 0;
      for (const auto& e : maps) {
        if (e.shared || e.vm_flags.io || e.vm_flags.pfnmap) continue;  // No private pages (or refused by the dump).
        ASSIGN_OR_RETURN(bool tracked, can_track(e) ? p->tracker.track(e.start, e.end) : Result<bool>(false));
        if (tracked) p->ranges.push_back({e.start, e.end});
        else untracked += e.end - e.start;
      }
      if (untracked)
        log()->debug("pid {}: {} KiB of private mappings are not tracked (file mappings and others): read at the freeze",
                     process.pid, untracked / 1024);
      pre.processes_.emplace(process.pid, std::move(p));
    }
    RETURN_IF_ERROR_CTX(freezer.resume(), "resuming the tree after giving it write tracking");
  }
  pre.stats_.pause_ms = ms_since(seized);
  log()->debug("pre-copy: {} processes tracked, the tree was seized for {:.2f} ms", pre.processes_.size(), pre.stats_.pause_ms);
  for (auto& [pid, p] : pre.processes_) {
    std::string path = "/proc/" + std::to_string(pid) + "/pagemap";
    p->pagemap.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!p->pagemap.valid()) return fail_errno("open(" + path + ")");
    p->staging = "pre-copy-" + std::to_string(pid) + ".tmp";
    ASSIGN_OR_RETURN(UniqueFd file, dir.create_file(p->staging));
    ASSIGN_OR_RETURN(PagePasses pages, PagePasses::create(pid, std::move(file), compress));
    p->pages.emplace(std::move(pages));
  }
  return pre;
}

void PreCopy::drop(Process& p, const std::string& why) {
  log()->info("pid {}: pre-copy given up ({}): its memory is read at the freeze", p.pid, why);
  p.tracker.close();
  p.ranges.clear();
  p.pages.reset();
}

// Everything the tracked mappings hold, once they are write-protected: a write from now on is
// reported by the next round.
Result<> PreCopy::first_round(Process& p) {
  std::vector<std::pair<PageRange, bool>> copy;
  std::vector<PageRange> found;
  for (const auto& range : p.ranges) {
    RETURN_IF_ERROR(p.tracker.protect(range.start, range.end));
    found.clear();
    RETURN_IF_ERROR(find_private_pages(p.pagemap.get(), range.start, range.end, found));
    for (const auto& r : found) copy.push_back({r, true});
  }
  for (const auto& [r, skip] : copy) stats_.bytes += r.end - r.start;
  ASSIGN_OR_RETURN(std::vector<image::PageRun> runs, p.pages->append(copy));
  for (const auto& run : runs) p.index.store(run);
  return {};
}

// The pages written since the last round, protected again as they are reported. A page written
// but not there now (zapped, or the zero page) is forgotten.
Result<> PreCopy::next_round(Process& p, uint64_t& copied) {
  std::vector<WrittenRange> written;
  for (const auto& range : p.ranges) RETURN_IF_ERROR(p.tracker.scan_written(range.start, range.end, true, written));
  std::vector<std::pair<PageRange, bool>> copy;
  for (const auto& w : written) {
    p.index.erase(w.range.start, w.range.end);
    if (!w.holds_page) continue;
    copy.push_back({w.range, true});
    copied += w.range.end - w.range.start;
  }
  ASSIGN_OR_RETURN(std::vector<image::PageRun> runs, p.pages->append(copy));
  for (const auto& run : runs) p.index.store(run);
  return {};
}

Result<> PreCopy::copy_rounds() {
  stats_.processes = static_cast<uint32_t>(processes_.size());
  for (uint32_t round = 1; round <= kMaxRounds; ++round) {
    auto started = Clock::now();
    uint64_t before = stats_.bytes;
    for (auto& [pid, p] : processes_) {
      if (!p->pages) continue;
      uint64_t copied = 0;
      auto done = round == 1 ? first_round(*p) : next_round(*p, copied);
      // A process that exited or changed its memory under the round is read at the freeze instead.
      if (!done) drop(*p, done.error().message);
      stats_.bytes += copied;
    }
    stats_.rounds = round;
    uint64_t bytes = stats_.bytes - before;
    log()->debug("pre-copy round {}: {} KiB in {:.2f} ms", round, bytes / 1024, ms_since(started));
    RETURN_IF_ERROR(fault_point("dump:pre-copy-round"));
    RETURN_IF_ERROR(check_interrupt());
    if (round > 1 && bytes < kSmallRoundBytes) break;
  }
  return {};
}

// Whether [start, end) lies within a range cryo registered with the process's tracker.
bool PreCopy::registered_by_us(const Process& p, uint64_t start, uint64_t end) {
  return std::any_of(p.ranges.begin(), p.ranges.end(), [&](const PageRange& r) { return r.start <= start && end <= r.end; });
}

void PreCopy::hide_tracking(pid_t pid, std::vector<MapsEntry>& maps) {
  auto it = processes_.find(pid);
  if (it == processes_.end() || !it->second->pages) return;
  Process& p = *it->second;
  p.trusted.clear();
  for (auto& e : maps) {
    auto uw = std::find(e.vm_flags.all.begin(), e.vm_flags.all.end(), "uw");
    if (uw == e.vm_flags.all.end()) continue;
    // Only inside what cryo registered: another userfaultfd's registration stays, and is refused.
    if (!registered_by_us(p, e.start, e.end)) continue;
    e.vm_flags.all.erase(uw);
    append(p.trusted, e.start, e.end);
  }
}

void PreCopy::hide_tracking(pid_t pid, image::ProcessFingerprint& print) const {
  auto it = processes_.find(pid);
  if (it == processes_.end() || !it->second->pages) return;
  const Process& p = *it->second;
  for (auto& field : *print.mutable_fields()) {
    if (field.file() != "smaps" || field.name() != "VmFlags") continue;
    unsigned long start = 0, end = 0;
    if (std::sscanf(field.subject().c_str(), "map %lx-%lx", &start, &end) != 2) continue;
    if (!registered_by_us(p, start, end)) continue;
    std::string value = " " + field.value() + " ";
    if (auto at = value.find(" uw "); at != std::string::npos) value.erase(at, 3);
    field.set_value(value.substr(1, value.size() - 2));
  }
}

std::optional<Result<DumpedPages>> PreCopy::finish_process(pid_t pid, const image::MemoryMap& mm, const std::string& pages_name) {
  auto it = processes_.find(pid);
  if (it == processes_.end() || !it->second->pages) return std::nullopt;
  Process& p = *it->second;
  auto finished = [&]() -> Result<DumpedPages> {
    // Opened now: a process that exec'd has another memory since the first round.
    std::string path = "/proc/" + std::to_string(pid) + "/pagemap";
    UniqueFd pagemap(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!pagemap.valid()) return fail_errno("open(" + path + ")");
    std::vector<PageRange> keep, found;
    std::vector<std::pair<PageRange, bool>> copy;
    std::vector<WrittenRange> written;
    for (const auto& vma : mm.vmas()) {
      bool anon = vma.kind() == image::VMA_ANON_PRIVATE;
      if (!anon && vma.kind() != image::VMA_FILE_PRIVATE) continue;
      bool tracked = anon && std::any_of(p.trusted.begin(), p.trusted.end(), [&](const PageRange& r) {
                       return r.start <= vma.start() && vma.end() <= r.end;
                     });
      if (!tracked) {
        found.clear();
        RETURN_IF_ERROR(find_private_pages(pagemap.get(), vma.start(), vma.end(), found));
        for (const auto& r : found) copy.push_back({r, anon});
        continue;
      }
      // A page not written since the last round still holds what was copied then: the index keeps
      // it. One zapped since (MADV_DONTNEED, MADV_FREE reclaimed) lost its protection with its page
      // and is reported written, so no walk of the present pages is needed: the written ones that
      // hold a page are copied, the rest are forgotten.
      written.clear();
      RETURN_IF_ERROR(p.tracker.scan_written(vma.start(), vma.end(), false, written));
      uint64_t at = vma.start();
      for (const auto& w : written) {  // Sorted by address and disjoint: the scan walks forward.
        append(keep, at, w.range.start);
        at = w.range.end;
        if (w.holds_page) copy.push_back({w.range, true});
      }
      append(keep, at, vma.end());
    }
    // Only what still holds what was copied: pages written since, gone, or of mappings that are
    // not tracked now are copied again or not at all.
    p.index.keep_only(keep);
    for (const auto& [r, skip] : copy) stats_.final_bytes += r.end - r.start;
    ASSIGN_OR_RETURN(std::vector<image::PageRun> runs, p.pages->append(copy));
    for (const auto& run : runs) p.index.store(run);
    ASSIGN_OR_RETURN(DumpedPages pages, p.pages->finish(p.index));
    if (::renameat(dir_->get(), p.staging.c_str(), dir_->get(), pages_name.c_str()) != 0)
      return fail_errno("rename(" + dir_->describe(p.staging) + ", " + pages_name + ")");
    p.claimed = true;
    log()->debug("pid {}: {} pages pre-copied still hold, {} KiB read at the freeze", pid, p.index.pages(),
                 stats_.final_bytes / 1024);
    return pages;
  };
  return finished();
}

void PreCopy::stop() {
  for (auto& [pid, p] : processes_) {
    p->tracker.close();
    p->pages.reset();
    if (!p->claimed && !p->staging.empty() && dir_->valid()) (void)::unlinkat(dir_->get(), p->staging.c_str(), 0);
    p->staging.clear();
  }
}

}  // namespace cryo::dump
