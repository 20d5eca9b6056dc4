// clone3(2), which glibc 2.36 does not wrap, with set_tid for choosing the child's PID.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>

#include "base/error.h"

namespace cryo {

// Forks like fork() (returns 0 in the child, the child's PID in the parent, -1 with errno on failure).
// `set_tid`, when not empty, gives the PID in each nested PID namespace, innermost first; its length
// must not exceed the nesting depth of the new child (EINVAL), and a PID in use is EEXIST.
pid_t clone3_fork(uint64_t flags, std::span<const pid_t> set_tid = {}, int exit_signal = 17 /* SIGCHLD */);

// Forks a child that gets PID `pid` in the caller's namespace for children (set_tid = {pid}): 0 in
// the child, the child's PID in the parent. The kernel's EEXIST (a process or thread already has
// that PID) becomes "PID N is in use", so that restore names the PID it could not have.
Result<pid_t> clone3_with_pid(pid_t pid, int exit_signal = 17 /* SIGCHLD */);

}  // namespace cryo
