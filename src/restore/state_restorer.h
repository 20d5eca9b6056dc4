// The rest of a process's state after its memory: the mm fields the kernel keeps (brk, argument and
// environment areas, auxv, /proc/PID/exe), signal handlers, per-thread registrations (altstack,
// robust list, clear_child_tid, rseq), interval timers, pending signals, resource limits,
// credentials and the prctl flags. All through injected syscalls but the rlimits.
#pragma once

#include "base/error.h"
#include "image/image_set.h"
#include "ptrace/remote_task.h"

namespace cryo::restore {

// PR_SET_MM_MAP with the image's mm fields, auxv and executable.
Result<> restore_mm_fields(RemoteTask& task, const image::MmFields& mm);
// Signal handlers that are not the default (the placeholder reset all of them).
Result<> restore_sigactions(RemoteTask& task, const image::ProcessCore& core);
// sigaltstack, set_robust_list, set_tid_address and rseq of the (only) thread.
Result<> restore_thread_registrations(RemoteTask& task, const image::ThreadCore& thread);
Result<> restore_itimers(RemoteTask& task, const image::ProcessCore& core);
// POSIX timers with their IDs, clocks and notifications, disarmed; while the process still has
// cryo's capabilities (choosing the IDs may need them).
Result<> create_posix_timers(RemoteTask& task, const image::ProcessCore& core);
// Arms them with the time they had left: last, since they count from then on.
Result<> arm_posix_timers(RemoteTask& task, const image::ProcessCore& core);
// Re-queues the process-wide pending signals and the leader's own; they stay pending because every
// signal is blocked while injecting.
Result<> restore_pending_signals(RemoteTask& task, const image::ProcessCore& core);
// Re-queues the signals pending for one thread, from inside that thread (`task` runs in it).
Result<> restore_thread_pending_signals(RemoteTask& task, uint32_t pid, const image::ThreadCore& thread);
// prlimit64 from cryo. A hard limit above cryo's own cannot be set without CAP_SYS_RESOURCE: that is
// an error naming the limit, never a lower limit than the process had.
Result<> restore_rlimits(pid_t host_pid, uint32_t pid, const image::ProcessCore& core);
// coredump_filter, oom_score_adj and timerslack_ns, written to /proc/PID by cryo. An oom_score_adj
// below cryo's own needs CAP_SYS_RESOURCE: an error naming it, never a different value.
Result<> restore_process_tunables(pid_t host_pid, uint32_t pid, const image::ProcessCore& core);
// Groups, uids, gids, securebits, bounding set, capabilities, ambient capabilities.
Result<> restore_creds(RemoteTask& task, const image::Creds& creds);
// One thread's own prctl state: parent-death signal and timer slack (not the leader's: those come
// from the process's fields), TSC mode, machine-check kill policy. After the credentials, whose
// change resets the parent-death signal.
Result<> restore_thread_prctl_state(RemoteTask& task, const image::ThreadCore& thread, bool leader);
// Flags that credential changes reset, so they come after: dumpable, parent-death signal, the
// leader's own prctl state, THP disable; then the child-subreaper flag and no_new_privs
// (irreversible, last).
Result<> restore_process_flags(RemoteTask& task, const image::ProcessCore& core);

}  // namespace cryo::restore
