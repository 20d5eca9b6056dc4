// Reads what the kernel shows of a stopped process and its threads (/proc/PID/..., and the few
// things only a tracer or a syscall can read back: rseq, sched_getattr, ioprio) into a fingerprint.
// It has its own small parsers on purpose: it must not share a bug with the collectors whose
// values restore rebuilds a process from, or a value read wrongly at dump would be "verified" by
// being read wrongly again after the restore.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "fingerprint.pb.h"

namespace cryo::verify {

// The fingerprints of the processes `host_pids`: every live process of one tree. PIDs in values,
// such as a parent or a session, are recorded as the tree sees them, which needs all of them and
// the tree's `zombies` too (not fingerprinted themselves: they have no state but their exit code).
// Each process must be stopped, and traced by the calling thread (for rseq). `ProcessFingerprint.pid`
// is the PID inside the tree's namespace. Fields that fingerprint_rules.h marks as not recorded are
// left out. `smaps_read`, when given, receives the /proc/PID/smaps text of each live process, in
// the order of `host_pids`: reading smaps walks every page table, so the dump hands the same text
// on to the memory map instead of walking again while the tree is frozen.
Result<std::vector<image::ProcessFingerprint>> read_fingerprints(const std::vector<pid_t>& host_pids,
                                                          const std::vector<pid_t>& zombies,
                                                          std::vector<std::string>* smaps_read = nullptr);

}  // namespace cryo::verify
