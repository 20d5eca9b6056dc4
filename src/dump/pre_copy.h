// `cryo dump --leave-running --pre-copy`: most of the memory is copied while the tree runs, so that
// the freeze copies only what changed since.
//
// The tree is seized for a moment to give every process a DirtyTracker (ptrace/dirty_tracker.h)
// with its private anonymous mappings registered, and runs again. Then, in rounds while it runs,
// the pages are copied into a staging pages file, each round only the pages written since the one
// before (the scan write-protects them again as it reports them). A PageIndex remembers where the
// latest copy of each page is. At the freeze the dump asks finish_process() for each process's
// pages: the pages written since the last round are copied, and so is every mapping that is new,
// not tracked (private file mappings, a process that exec'd) or whose tracking ended; every page
// that is gone, zero now, or outside today's mappings is forgotten. The pagemap indexes exactly the
// memory at the freeze; earlier copies of rewritten pages stay in the file unindexed.
//
// Only processes cryo can track are pre-copied; the others' memory is read at the freeze as
// without pre-copy (dump.log says which and why). Any failure before the freeze, and every path
// out, closes the trackers: the tree keeps no userfaultfd and no write protection.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/dir_fd.h"
#include "base/error.h"
#include "dump/page_dump.h"
#include "dump/page_index.h"
#include "fingerprint.pb.h"
#include "kernel/proc_maps.h"
#include "mm.pb.h"
#include "ptrace/dirty_tracker.h"

namespace cryo::dump {

struct PreCopyStats {
  uint32_t processes = 0;      // Processes whose memory was pre-copied.
  uint32_t rounds = 0;         // Rounds while the tree ran (the first copies everything).
  uint64_t bytes = 0;          // Bytes read from the tree in those rounds.
  uint64_t final_bytes = 0;    // Bytes read at the freeze from pre-copied processes.
  double pause_ms = 0;         // The tree was seized this long to be given its trackers.
};

class PreCopy {
 public:
  // Seizes the tree of `init` for a moment, gives each process that can be tracked its tracker and
  // lets the tree run again; then write-protects the tracked memory. Staging files go into `dir`.
  static Result<PreCopy> start(pid_t init, const DirFd& dir, bool compress);

  PreCopy(PreCopy&&) noexcept;
  PreCopy& operator=(PreCopy&&) noexcept;
  ~PreCopy();

  // Rounds of copying while the tree runs, until a round copies little or the round limit.
  Result<> copy_rounds();

  // At the freeze, before the dump reads the maps: removes the VmFlags `uw` of cryo's own tracking
  // from `maps` (a mapping the tree registered itself keeps it, and is refused), and remembers which
  // mappings are still tracked.
  void hide_tracking(pid_t pid, std::vector<MapsEntry>& maps);
  // The same for a fingerprint's VmFlags, so that restore's verification sees the tree as it is.
  void hide_tracking(pid_t pid, image::ProcessFingerprint& print) const;

  // The pages of a frozen process whose memory map is `mm`, in the staging file renamed to
  // `pages_name`; nullopt when the process was not pre-copied (the dump then reads them itself).
  std::optional<Result<DumpedPages>> finish_process(pid_t pid, const image::MemoryMap& mm, const std::string& pages_name);

  // Removes the staging files that no process claimed, and closes every tracker: the kernel drops
  // their registrations and protections. Once the tree runs again (closing takes ~130 ms a 2 GiB).
  void stop();

  const PreCopyStats& stats() const { return stats_; }

 private:
  struct Process;
  explicit PreCopy(const DirFd& dir);
  Result<> first_round(Process& p);
  Result<> next_round(Process& p, uint64_t& copied);
  void drop(Process& p, const std::string& why);
  static bool registered_by_us(const Process& p, uint64_t start, uint64_t end);

  const DirFd* dir_;
  std::map<pid_t, std::unique_ptr<Process>> processes_;  // By host PID.
  PreCopyStats stats_;
};

}  // namespace cryo::dump
