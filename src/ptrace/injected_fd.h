// An fd that only the process itself can make (a userfaultfd acts on the memory of the process that
// calls userfaultfd()), made by a syscall injected into a stopped thread and taken out with
// pidfd_getfd: cryo holds the only reference, and the process keeps no fd it never opened.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"
#include "ptrace/remote_syscalls.h"

namespace cryo {

// Runs syscall `nr` (named `what` in errors), which returns a new fd, in the thread of process `pid`
// that `remote` injects into, takes that fd, and closes it in the process again on every path.
Result<UniqueFd> take_injected_fd(RemoteSyscalls& remote, pid_t pid, const std::string& what, long nr,
                                  std::array<uint64_t, 6> args = {});

}  // namespace cryo
