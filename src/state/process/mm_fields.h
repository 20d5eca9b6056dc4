// The fields the kernel keeps in a process's mm_struct beside its mappings: code, data, heap (brk),
// stack, argument and environment areas, auxv and /proc/PID/exe. Dump reads them from
// /proc/PID/stat and auxv, with the break the process reports (brk(0), remote_state.h); restore
// sets them all at once with PR_SET_MM_MAP, once the memory is in place.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "base/error.h"
#include "core.pb.h"
#include "image/value_checks.h"
#include "kernel/proc_stat.h"
#include "ptrace/remote_task.h"

namespace cryo {

// Everything but the executable, which the dump names and identifies as it does every file it
// refers to (image/file_identity.h).
Result<> collect_mm_fields(pid_t pid, const ProcStat& stat, uint64_t brk, image::MmFields* mm);

// Addresses in user space, in the order PR_SET_MM_MAP insists on, an auxv of (type, value) pairs, a
// clean executable path (mm_fields_validation.cc).
void validate_mm_fields(const image::MmFields& mm, const image::ProblemSink& problem);

// PR_SET_MM_MAP with the image's mm fields, auxv and executable.
Result<> restore_mm_fields(RemoteTask& task, const image::MmFields& mm);

}  // namespace cryo
