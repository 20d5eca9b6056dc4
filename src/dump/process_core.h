// core-<pid>.img: everything about one stopped process except its memory and files.
#pragma once

#include <sys/types.h>

#include "base/error.h"
#include "core.pb.h"
#include "dump/freezer.h"
#include "kernel/proc_stat.h"
#include "kernel/proc_status.h"

namespace cryo::dump {

// How host PIDs of the tree translate to PIDs inside its namespace.
struct PidTranslation {
  size_t ns_level = 0;  // Index in NSpid.
  uint32_t inside(const ProcStatus& status) const;
};

// Collects the core of a frozen process, every thread of it (leader first). Injects syscalls into it
// (registers and masks are restored before this returns), so it must run before the memory map is read.
// `mlockall_flags`, when given, receives the mlockall state the injection saw (memory map state).
Result<image::ProcessCore> collect_process_core(FrozenProcess& process, const ProcStatus& status, const ProcStat& stat,
                                                const PidTranslation& pids, uint32_t* mlockall_flags = nullptr);

}  // namespace cryo::dump
