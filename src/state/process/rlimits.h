// The resource limits of a process (getrlimit's sixteen pairs). Dump reads them from /proc/PID/limits,
// restore sets them from cryo with prlimit64, before the credentials change.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "base/error.h"
#include "core.pb.h"
#include "image/value_checks.h"

namespace cryo {

// From /proc/PID/limits, not prlimit64(): that needs CAP_SYS_RESOURCE for a process of another user
// (a daemon that dropped privileges), and the tree is frozen, so the limits cannot change meanwhile.
Result<> collect_rlimits(pid_t pid, image::ProcessCore& core);

// Every resource known and given once, no soft limit above its hard limit (rlimits_validation.cc).
void validate_rlimits(const image::ProcessCore& core, const image::ProblemSink& problem);

// prlimit64 from cryo. A hard limit above cryo's own cannot be set without CAP_SYS_RESOURCE: that is
// an error naming the limit, never a lower limit than the process had.
Result<> restore_rlimits(pid_t host_pid, uint32_t pid, const image::ProcessCore& core);

}  // namespace cryo
