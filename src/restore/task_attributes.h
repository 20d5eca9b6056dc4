// What cryo sets on each restored thread from outside, once its injected visit is over: its
// scheduling (policy, nice, real-time priority, CPU mask, I/O priority). Last, because the visit
// itself pins the thread to cryo's CPU.
#pragma once

#include <sys/types.h>

#include "base/error.h"
#include "core.pb.h"

namespace cryo::restore {

Result<> restore_task_attributes(pid_t host_tid, const image::ThreadCore& thread);

}  // namespace cryo::restore
