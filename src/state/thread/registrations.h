// What a thread registers with the kernel about its own memory, beside rseq (rseq.h): its robust
// futex list (set_robust_list) and the address the kernel clears and wakes when it exits
// (set_tid_address, clear_child_tid). Dump reads the robust list from outside (get_robust_list) and
// asks the thread for clear_child_tid (PR_GET_TID_ADDRESS); restore registers both from inside.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "core.pb.h"
#include "image/value_checks.h"
#include "ptrace/remote_syscalls.h"
#include "ptrace/remote_task.h"
#include "ptrace/tracee.h"

namespace cryo {

// Dump. The robust list of a stopped thread (get_robust_list works on another task for a tracer).
Result<> collect_robust_list(Tracee& tracee, image::ThreadCore& thread);
// clear_child_tid of the thread `remote` runs in: kClearChildTidAnswerSize bytes at `at`.
constexpr size_t kClearChildTidAnswerSize = 8;
Result<> ask_clear_child_tid(RemoteSyscalls& remote, uint64_t at);
void read_clear_child_tid(const char* answer, image::ThreadCore& thread);

// A robust list head of the kernel's size in user space, clear_child_tid in user space
// (registrations_validation.cc). `problem` gets the thread's problems unprefixed by the thread.
void validate_registrations(const image::ThreadCore& thread, const image::ProblemSink& problem);

// Restore: set_robust_list and set_tid_address in the thread `task` runs in.
Result<> restore_registrations(RemoteTask& task, const image::ThreadCore& thread);

}  // namespace cryo
