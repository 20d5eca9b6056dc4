// The signal state of a process: its handlers (sigactions), the signals pending for it and for each
// thread, each thread's blocked mask and alternate signal stack. Dump asks the process itself for
// the handlers and stacks (injected calls write them to a scratch page, remote_state.h) and reads
// masks and pending signals through ptrace; restore injects them back, with every signal blocked
// until the thread's final step sets its mask (ptrace/remote_task.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "core.pb.h"
#include "image/value_checks.h"
#include "kernel/kernel_abi.h"
#include "ptrace/remote_syscalls.h"
#include "ptrace/remote_task.h"
#include "ptrace/tracee.h"

namespace cryo {

// Dump. The handlers of signals 1..64 (SIGKILL and SIGSTOP have none), indexed by signal, need this
// many bytes of scratch memory at `at`; read_sigactions turns them into the image's.
constexpr size_t kSigactionsAnswerSize = 65 * sizeof(kernel_abi::Sigaction);
Result<> ask_sigactions(RemoteSyscalls& remote, uint64_t at);
void read_sigactions(const char* answer, image::ProcessCore& core);
// The calling thread's sigaltstack, kSigaltstackAnswerSize bytes at `at`.
constexpr size_t kSigaltstackAnswerSize = sizeof(kernel_abi::Stack);
Result<> ask_sigaltstack(RemoteSyscalls& remote, uint64_t at);
void read_sigaltstack(const char* answer, image::ThreadCore& thread);
// The blocked mask and the signals pending for one stopped thread (ptrace, before any injection).
Result<> collect_thread_signals(Tracee& tracee, image::ThreadCore& thread);
// The signals pending for the whole process, seen from its leader.
Result<> collect_shared_pending(Tracee& leader, image::ProcessCore& core);
// Reads the pending signals of every thread (in the order of core.threads) and of the process
// again; where they differ from what `core` holds, `core` takes the new ones. True if any changed.
Result<bool> refresh_pending_signals(std::vector<Tracee>& threads, image::ProcessCore& core);

// Handlers of real signals inside user space, pending signals as whole siginfo records of a
// signal, stacks inside user space (signals_validation.cc).
void validate_signals(const image::ProcessCore& core, const image::ProblemSink& problem);

// Restore. Signal handlers that are not the default (the placeholder reset all of them).
Result<> restore_sigactions(RemoteTask& task, const image::ProcessCore& core);
// The sigaltstack of the thread `task` runs in.
Result<> restore_sigaltstack(RemoteTask& task, const image::ThreadCore& thread);
// Re-queues the process-wide pending signals and the leader's own; they stay pending because every
// signal is blocked while injecting.
Result<> restore_pending_signals(RemoteTask& task, const image::ProcessCore& core);
// Re-queues the signals pending for one thread, from inside that thread (`task` runs in it).
// Neither queues a timer's own signal: the timer sends it again (state/process/timers.h).
Result<> restore_thread_pending_signals(RemoteTask& task, const image::ProcessCore& core, const image::ThreadCore& thread);

}  // namespace cryo
