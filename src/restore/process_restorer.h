// Turns one seized placeholder into the process of the image, step by step through injected
// syscalls, and leaves it stopped at its final registers, ready to be released with the others.
#pragma once

#include <sys/types.h>

#include <memory>

#include "base/error.h"
#include "ptrace/tracee.h"
#include "restore/image_set.h"
#include "restore/placeholder.h"

namespace cryo::restore {

// Seizes the placeholder `host_pid` of `process` and restores it. On success the returned tracee is
// stopped with every piece of state in place; detaching it lets the process run.
Result<std::unique_ptr<Tracee>> restore_process(const ProcessImage& process, pid_t host_pid, const PlaceholderContext& ctx);

}  // namespace cryo::restore
