// The threads of a restored process beyond its leader. The leader clones each one with its old TID
// through an injected clone3 (set_tid, or after an injected write to ns_last_pid); cryo, tracing the
// leader with PTRACE_O_TRACECLONE, holds each new thread stopped before it runs an instruction, gives
// it its own registrations, credentials, registers and signal mask, and keeps it stopped until the
// whole tree is released.
#pragma once

#include <memory>
#include <vector>

#include "base/error.h"
#include "ptrace/tracee.h"
#include "image/image_set.h"
#include "restore/placeholder.h"
#include "ptrace/remote_task.h"

namespace cryo::restore {

// The registrations of the thread `task` runs in: its sigaltstack, robust list, clear_child_tid and
// rseq (state/process/signals.h, state/thread/).
Result<> restore_thread_registrations(RemoteTask& task, const image::ThreadCore& thread);

// Clones threads 1..n of the image inside the leader, whose memory is already restored and whose
// trampoline is installed; must run before the leader's credentials are restored (choosing a TID
// needs CAP_CHECKPOINT_RESTORE). The threads come back stopped, in image order, each with its
// sigaltstack, robust list, clear_child_tid and rseq registered, appended to `threads` as they are
// made: the caller holds them (stopped) until the tree is released or killed, also on failure.
Result<> create_threads(RemoteTask& leader, const ProcessImage& process, PidMethod method,
                        std::vector<std::unique_ptr<Tracee>>& threads);

// The last steps of thread `index` of the image (1..n), once the leader's own creds are restored:
// credentials, no_new_privs, FPU/vector state, registers and blocked signals.
Result<> finish_thread(Tracee& thread, RemoteTask& leader, const ProcessImage& process, int index);

}  // namespace cryo::restore
