// What the launcher's helper processes tell cryo over CLOEXEC pipes. The intermediate process reports
// the init's host PID, or the Error that kept it from creating the init. The init itself reports only
// failure: which step before exec failed and its errno, because it must not log or allocate between
// clone and exec. Its pipe end is CLOEXEC, so end-of-file without a report means exec succeeded.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "base/error.h"

namespace cryo::launch_report {

// Intermediate -> cryo: exactly one of these, then the pipe closes.
Result<> write_init_pid(int fd, pid_t pid);
Result<> write_error(int fd, const Error& error);
// Reads until end-of-file: the init's PID, or the error the intermediate reported.
// `what` names the helper in the error for a report that is missing or malformed.
Result<pid_t> read_init_pid(int fd, const std::string& what);

// The steps the init takes between clone and exec, in order.
enum class InitStep : int32_t {
  kWaitForLauncher = 1,
  kParentDeathSignal,
  kMountProc,
  kSetHostname,
  kNewSession,
  kRedirectStdio,
  kSignalMask,
  kExec,
};
const char* init_step_name(InitStep step);

struct InitFailure {
  InitStep step;
  int err;
};

// Init -> cryo. Async-signal-safe: no allocation, a single write of a fixed-size record.
void write_init_failure(int fd, InitStep step, int err) noexcept;
// Reads until end-of-file: nothing (exec succeeded) or the failure the init reported.
Result<std::optional<InitFailure>> read_init_failure(int fd);

}  // namespace cryo::launch_report
