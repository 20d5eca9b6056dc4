// Checks a live tree for what cryo cannot dump yet, before anything touches it, so a refused dump
// leaves the workload untouched. The same checks run again on the frozen tree, which is what the
// image is judged by; this pass only makes the common refusals cheap and harmless.
#pragma once

#include <sys/types.h>

#include "base/error.h"
#include "dump/dump_target.h"
#include "kernel/proc_status.h"

namespace cryo::dump {

// "process 1234 (comm)": how messages name a process of the tree.
std::string describe_process(pid_t pid, const ProcStatus& status);

// The per-process checks shared by both passes: one thread, no seccomp filter, no nested PID
// namespace. Errors carry no process name; the caller adds it.
Result<> check_process_shape(const ProcStatus& status, const DumpTarget& target);

// Walks the live tree and refuses the first process, mapping or fd that cryo cannot dump, and any
// member of the PID namespace that is not a descendant of the init.
Result<> preflight_check(const DumpTarget& target);

}  // namespace cryo::dump
