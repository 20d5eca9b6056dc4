// The parts of a process's state that only the process itself can report (signal handlers,
// sigaltstack, interval timers, clear_child_tid, brk, ...), asked by injecting syscalls into the
// stopped thread. The injected calls use one scratch page mapped in the tracee and unmapped again
// before the memory map is read, so the dump never sees it.
#pragma once

#include <vector>

#include "base/error.h"
#include "core.pb.h"
#include "ptrace/tracee.h"

namespace cryo::dump {

struct ProcessWideRemoteState {
  uint64_t brk = 0;
  uint32_t securebits = 0;
  // mlockall(MCL_FUTURE[|MCL_ONFAULT]) is mm->def_flags, which /proc shows nowhere; the scratch
  // page, mapped like any new mapping, shows it in its VmFlags (lo, lf).
  uint32_t mlockall_flags = 0;
};

// Asks the process for the parts of each kind of state it alone can report (state/process/,
// state/thread/): fills the signal actions, interval timers, POSIX timers' times and flags of
// `core`, the altstack, clear_child_tid and prctl flags of each of its threads (`threads` and core.threads() in the same order, leader first), and returns the
// process-wide values that live elsewhere in the image. Every thread's registers and signal mask
// are restored before this returns, on every path.
Result<ProcessWideRemoteState> collect_remote_state(std::vector<Tracee>& threads, image::ProcessCore& core);

}  // namespace cryo::dump
