// Starts a workload as PID 1 of fresh PID, mount and time namespaces (and a UTS namespace when it
// gets its own hostname): the mechanism behind `cryo run`.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "ns/clock_request.h"

namespace cryo {

struct LaunchSpec {
  std::vector<std::string> argv;  // The workload; argv[0] is looked up on PATH like a shell does.
  ClockRequest clocks;
  std::optional<std::string> hostname;  // Given: the tree gets its own UTS namespace with this name.
  // Detached: the init is not left a child of cryo, it leads its own session, and its stdio goes to
  // log_path (appended, created 0600) or /dev/null. Attached: stdio is inherited, cryo creates the
  // init itself (so it is its parent), and the init is killed if cryo dies.
  bool detach = false;
  std::string log_path;
  // The signal mask the workload starts with; unset keeps the caller's.
  std::optional<sigset_t> workload_signal_mask;
};

// Launches the workload and returns its host PID once it has been exec'd. Attached, the init is a
// child of the calling process, whose time namespace for children becomes the init's, and the
// caller must reap it. A command that cannot be executed is an error naming it with exit status 127 (not found) or
// 126 (found but not executable), like a shell; an offset the kernel refuses names the clock.
Result<pid_t> launch(const LaunchSpec& spec);

}  // namespace cryo
