// The scheduling attributes of a thread that anyone privileged may read and set from outside:
// policy and its parameters (sched_getattr), CPU affinity and I/O priority. Dump reads them from the
// frozen threads; restore sets them on the new ones.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "base/error.h"
#include "core.pb.h"
#include "image/value_checks.h"

namespace cryo {

// The kernel's struct sched_attr, version 0 (48 bytes; glibc 2.36 has no wrapper).
struct SchedAttr {
  uint32_t size = sizeof(SchedAttr);
  uint32_t policy = 0;
  uint64_t flags = 0;
  int32_t nice = 0;
  uint32_t priority = 0;
  uint64_t runtime = 0;
  uint64_t deadline = 0;
  uint64_t period = 0;
};
static_assert(sizeof(SchedAttr) == 48);

Result<image::SchedState> read_sched_state(pid_t tid);
// Sets what `state` says on `tid`. A CPU mask this host cannot honour (fewer CPUs) is not an error:
// the thread keeps the default mask and `note` says so.
Result<> apply_sched_state(pid_t tid, const image::SchedState& state, std::string* note);

// A known policy, nice and priority in the kernel's ranges, a bounded CPU mask, a valid I/O priority
// (scheduling_validation.cc). `problem` gets the thread's problems unprefixed by the thread.
void validate_sched_state(const image::SchedState& state, const image::ProblemSink& problem);

// What cryo sets on each restored thread from outside, once its injected visit is over: its
// scheduling, when the image has it, with a warning for a CPU mask this host cannot honour. Last,
// because the visit itself pins the thread to cryo's CPU.
Result<> restore_sched_state(pid_t host_tid, const image::ThreadCore& thread);

}  // namespace cryo
