// A thread's restartable-sequences area (rseq(2)): its address, length and signature. Dump reads it
// through ptrace (PTRACE_GET_RSEQ_CONFIGURATION); restore first unregisters the placeholder's own
// (glibc registered one), then registers the image's from inside each thread.
#pragma once

#include "base/error.h"
#include "core.pb.h"
#include "image/value_checks.h"
#include "ptrace/remote_task.h"
#include "ptrace/tracee.h"

namespace cryo {

Result<> collect_rseq(Tracee& tracee, image::ThreadCore& thread);

// An area of at least 32 bytes, aligned to 32, in user space (rseq_validation.cc). `problem` gets
// the thread's problems unprefixed by the thread.
void validate_rseq(const image::ThreadCore& thread, const image::ProblemSink& problem);

// Unregisters the rseq area the placeholder's glibc registered, before its memory is replaced: with
// the area unmapped but still registered, the next return to user space would kill the process
// (docs/design.md, "Kernel facts").
Result<> unregister_placeholder_rseq(RemoteTask& task);
// Registers the image's area in the thread `task` runs in.
Result<> restore_rseq(RemoteTask& task, const image::ThreadCore& thread);

}  // namespace cryo
