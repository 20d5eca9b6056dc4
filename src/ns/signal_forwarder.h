// `cryo run` in the foreground: passes SIGINT, SIGTERM and SIGHUP on to the tree's init and waits
// for it. A PID-namespace init ignores every signal it has no handler for (only SIGKILL from the
// parent namespace is sure to end it), so a second signal, or a grace period after the first, ends
// the tree with SIGKILL.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <optional>

#include "base/error.h"

namespace cryo {

class SignalForwarder {
 public:
  static constexpr std::chrono::milliseconds kDefaultGrace{5000};

  // Blocks SIGINT, SIGTERM, SIGHUP and SIGCHLD from now on, so none is lost before the wait starts
  // (they are then taken with sigtimedwait, with no handlers to race with).
  SignalForwarder();
  // Restores the signal mask that was in place before.
  ~SignalForwarder();
  SignalForwarder(const SignalForwarder&) = delete;
  SignalForwarder& operator=(const SignalForwarder&) = delete;

  // The mask from before construction: what the workload should start with.
  const sigset_t& original_mask() const { return original_mask_; }

  // Waits for `init` (a child of this process) to end, forwarding signals meanwhile. Returns its exit
  // status as a shell reports it: the exit code, or 128+N when signal N killed it.
  Result<int> wait_for_exit(pid_t init, std::chrono::milliseconds grace = kDefaultGrace);

 private:
  sigset_t original_mask_;
  sigset_t handled_;
};

// A waitpid() status as a shell reports it: the exit code, or 128+N for a death by signal N.
int shell_exit_status(int wait_status);

}  // namespace cryo
