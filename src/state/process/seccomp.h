// Seccomp filters (mode 2, SECCOMP_SET_MODE_FILTER): the classic BPF programs a process's threads
// run every syscall through. Dump reads them through ptrace (PTRACE_SECCOMP_GET_FILTER, newest first)
// and refuses what a restore could not give back: strict mode, threads whose filters differ, and a
// filter that hands syscalls to a supervisor (SECCOMP_RET_USER_NOTIF). Restore installs them from
// the leader for every thread at once (SECCOMP_FILTER_FLAG_TSYNC), before the credentials are
// dropped, and from then on injects its remaining calls with the filters suspended
// (PTRACE_O_SUSPEND_SECCOMP), as the dump does: a filter may forbid or kill on any of them.
#pragma once

#include <sys/ptrace.h>

#include <vector>

#include "base/error.h"
#include "core.pb.h"
#include "image/value_checks.h"
#include "ptrace/remote_task.h"
#include "ptrace/tracee.h"

namespace cryo {

// `mode` is the Seccomp field of /proc/PID/status of the leader, `thread_modes` of the other threads
// (in the order of `threads` after the leader). Fills core.seccomp_filters. Suspends the filters of
// each thread under one, so the dump's injected calls pass; the suspension ends when cryo detaches.
Result<> collect_seccomp(std::vector<Tracee>& threads, uint64_t mode, const std::vector<uint64_t>& thread_modes,
                         image::ProcessCore& core);

// Programs of 1 to 4096 instructions, whole instructions, no flags but SECCOMP_FILTER_FLAG_LOG,
// and at most the kernel's 32768 instructions per chain (seccomp_validation.cc).
void validate_seccomp(const image::ProcessCore& core, const image::ProblemSink& problem);

// Installs the image's filters in the leader `task` for all its threads, and from the first on
// suspends them for every tracee of the process (`threads`, the leader first) until cryo detaches:
// their ptrace options become `options` | PTRACE_O_SUSPEND_SECCOMP.
Result<> restore_seccomp(RemoteTask& task, const image::ProcessCore& core, const std::vector<Tracee*>& threads, int options);

}  // namespace cryo
