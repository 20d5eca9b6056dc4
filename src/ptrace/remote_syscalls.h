// Runs syscalls inside a stopped tracee. The guard saves the thread's registers and signal mask when
// created and restores them on every path when destroyed, so the tracee never notices the visit.
// From the first injected call until the guard dies every blockable signal is blocked in the
// tracee, so no signal can be delivered (and lost) between injected syscalls.
//
// A call stops at syscall entry and exit (PTRACE_SYSCALL), or, through a `syscall; int3` site, at
// the int3 alone (PTRACE_CONT, one stop: faster). The int3's SIGTRAP is forced through the blocked
// mask: a forced signal that is blocked or ignored resets the process's SIGTRAP handler to SIG_DFL
// and unblocks it, and it merges with a SIGTRAP the process had pending, which the tracer then
// swallows. So an int3 site is only for a process that has no signal state of its own yet (a
// restore placeholder before its handlers and pending signals are set); see use_site().
//
// A guard made with create_resumable() also survives the death of cryo itself (SIGKILL): every call
// runs with a resume frame under the thread's stack (ptrace/resume_frame.h) and stops only at
// syscall entry and exit, never at an int3, so a thread the kernel detaches at any moment runs
// through rt_sigreturn back to its own registers, FPU state and signal mask.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>

#include "base/error.h"
#include "ptrace/tracee.h"

namespace cryo {

// Where a tracee can execute a syscall instruction.
struct SyscallSite {
  uint64_t address = 0;       // Address of a `syscall` (0f 05) instruction in the tracee.
  // A trampoline `syscall; int3` lets the tracer use PTRACE_CONT (faster); see above for when.
  bool followed_by_int3 = false;
  // Non-zero: the stack pointer to inject with, where a resume frame waits (ptrace/resume_frame.h).
  uint64_t resume_sp = 0;
};

struct ResumePath;

// Finds a `syscall` instruction in the tracee: in its [vdso], or where it has none, in its text.
Result<SyscallSite> find_syscall_site(pid_t pid);

class RemoteSyscalls {
 public:
  // Saves the registers of the stopped tracee. The tracee must stay stopped until the guard dies.
  static Result<RemoteSyscalls> create(Tracee& tracee, SyscallSite site);
  // Injects through `path` with a resume frame written for this thread (see above). Where the frame
  // cannot be written (no room on the stack), through path.syscall_site without one, as create().
  static Result<RemoteSyscalls> create_resumable(Tracee& tracee, const ResumePath& path);
  // True when the guard has a resume frame: a death of cryo cannot harm the thread.
  bool resumable() const { return site_.resume_sp != 0; }
  RemoteSyscalls(RemoteSyscalls&& other) noexcept;
  RemoteSyscalls& operator=(RemoteSyscalls&&) = delete;
  RemoteSyscalls(const RemoteSyscalls&) = delete;
  RemoteSyscalls& operator=(const RemoteSyscalls&) = delete;
  // Restores the registers and mask (unless the tracee died).
  ~RemoteSyscalls();

  // Runs syscall `nr` and returns the kernel's raw result (a negative errno on failure). An Error
  // means the injection itself failed (the tracee died or ptrace refused).
  Result<int64_t> raw(long nr, std::array<uint64_t, 6> args = {});
  // Like raw(), but a negative result becomes an error naming the call: "pid 42: remote mmap(...): ...".
  Result<uint64_t> call(const std::string& what, long nr, std::array<uint64_t, 6> args = {});
  // The host TID of the task the last injected call created, as its PTRACE_EVENT_CLONE stop told
  // (under PTRACE_O_TRACECLONE); 0 when it created none.
  pid_t last_cloned() const { return cloned_; }

  // Switches to another syscall site (e.g. a trampoline mapped with the first injected mmap). To
  // munmap the trampoline itself, use it without the int3: the syscall then completes at a
  // syscall-exit stop and the tracee never executes the vanished page (docs/design.md, "Kernel facts").
  // Leaving an int3 site blocks every signal again (its SIGTRAPs unblocked SIGTRAP).
  Result<> use_site(SyscallSite site);
  bool traps() const { return site_.followed_by_int3; }
  const Registers& saved_registers() const { return saved_; }
  // Replaces what is restored at the end (restore sets the final registers and mask this way).
  // By default the guard restores registers_for_resume(saved, SameProcess) and the saved mask.
  void set_registers_to_restore(const Registers& regs) { restore_regs_ = regs; }
  void set_sigmask_to_restore(uint64_t mask) { restore_mask_ = mask; }
  Tracee& tracee() { return *tracee_; }

 private:
  RemoteSyscalls(Tracee& tracee, SyscallSite site, Registers saved, uint64_t mask);
  Result<int64_t> wait_for_syscall_done();
  void note_clone_event(const Tracee& t, const WaitStatus& status);
  Tracee* tracee_;
  SyscallSite site_;
  Registers saved_;
  Registers restore_regs_;
  uint64_t restore_mask_;
  bool active_ = true;
  bool mask_blocked_ = false;  // Set at the first call, once the registers point at injected code.
  pid_t cloned_ = 0;           // See last_cloned().
};

// Pins the calling thread and the tracee to one CPU: an injected syscall then costs ~10-15 us
// instead of ~55 us (measured, see docs/design.md). The destructor gives both their previous masks back.
class CpuPin {
 public:
  static Result<CpuPin> pin(pid_t tracer_tid, pid_t tracee_tid);
  // Pins only the calling thread, to the CPU the tracee last ran on, where the scheduler wakes it
  // again: nearly as fast, and the tracee's own mask is never touched, so a cryo killed meanwhile
  // leaves nothing changed in a tree it dumps.
  static Result<CpuPin> pin_beside(pid_t tracer_tid, pid_t tracee_tid);
  ~CpuPin();
  CpuPin(CpuPin&& other) noexcept;
  CpuPin(const CpuPin&) = delete;
  CpuPin& operator=(const CpuPin&) = delete;
  CpuPin& operator=(CpuPin&&) = delete;

 private:
  CpuPin() = default;
  pid_t tracer_ = 0;
  pid_t tracee_ = 0;
  std::string tracer_mask_;  // cpu_set_t bytes of each before pinning.
  std::string tracee_mask_;  // Empty when the tracee was left alone (pin_beside).
  bool active_ = false;
};

}  // namespace cryo
