// A value type for what waitpid() reported about a tracee.
#pragma once

#include <string>

namespace cryo {

class WaitStatus {
 public:
  WaitStatus() = default;
  explicit WaitStatus(int raw) : raw_(raw) {}

  int raw() const { return raw_; }
  bool exited() const;          // Normal exit; exit_code() is valid.
  bool signaled() const;        // Killed by a signal; term_signal() is valid.
  bool gone() const { return exited() || signaled(); }
  bool stopped() const;         // Any ptrace stop.
  int exit_code() const;
  int term_signal() const;
  int stop_signal() const;      // WSTOPSIG, with the 0x80 syscall bit stripped.
  int ptrace_event() const;     // PTRACE_EVENT_* of an event stop, 0 otherwise.
  bool syscall_stop() const;    // Syscall entry/exit stop (needs PTRACE_O_TRACESYSGOOD).
  bool event_stop() const;      // PTRACE_EVENT_STOP: after PTRACE_INTERRUPT, or a group stop under SEIZE.
  bool group_stop() const;      // PTRACE_EVENT_STOP caused by a stopping signal (SIGSTOP, SIGTSTP, ...).
  bool signal_delivery_stop() const;  // The tracee is about to receive stop_signal().

  // "exited with 3", "killed by SIGKILL", "stopped by SIGTRAP (syscall)", ...
  std::string describe() const;

 private:
  int raw_ = 0;
};

}  // namespace cryo
