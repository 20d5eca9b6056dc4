// Job-control stops (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU): which processes were stopped at the
// freeze, by which signal, and whether the parent had already collected the stop with
// waitpid(WUNTRACED).
//
// Dump: seizing a stopped thread turns its group stop into a PTRACE_EVENT_STOP that carries the stop
// signal, while a running thread reports SIGTRAP: that is how cryo tells the job-control stop from
// its own.
//
// Restore: the stops come back at release. A process that SIGSTOP or SIGTSTP (SIGTTIN, SIGTTOU) had
// stopped is sent that signal while all its threads are still traced at their final registers, then
// detached: no thread runs an instruction before the group stop holds it, exactly as the kernel's
// own stop does. Its parent, still traced, is then made to see what it saw before: a stop it had
// already collected with waitpid(WUNTRACED) is collected again by an injected wait4, and a SIGCHLD
// the new stop raised is taken back if the parent had none pending.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "base/error.h"
#include "core.pb.h"
#include "image/image_set.h"
#include "image/tree_plan.h"
#include "image/value_checks.h"
#include "kernel/proc_stat.h"
#include "ptrace/tracee.h"

namespace cryo {

struct JobControlStop {
  int signal = 0;                    // 0: the process was running.
  bool reported = false;             // The parent had collected the stop already.
  std::vector<bool> thread_stopped;  // Per thread, leader first.
};

// Dump. Reads what the freeze saw of process `pid` (its seized `threads`, leader first), before
// anything else stops and resumes them. A group stop caught half-way (some threads stopped, others
// not yet) is refused: dump again.
Result<JobControlStop> read_job_control_stop(pid_t pid, const std::vector<Tracee>& threads, const ProcStat& leader_stat);

// Writes it into the core (threads in the same order as `threads` above).
void record_job_control_stop(const JobControlStop& stop, image::ProcessCore& core);

// Validation (job_control_stop_validation.cc).
void validate_job_control_stop(const image::ProcessCore& core, const image::ProblemSink& problem);

// Restore. The host PID of a process of the tree, by its PID inside it.
using HostPidOf = std::function<pid_t(uint32_t)>;

// `threads[i]` is the range of `tracees` that holds the threads of images.processes[i] (leader first).
// Detaches the stopped processes, children before parents; the caller releases the others.
Result<> release_stopped_processes(const ImageSet& images, const TreePlan& plan, const HostPidOf& host_pid_of,
                                   std::vector<std::unique_ptr<Tracee>>& tracees,
                                   const std::vector<std::pair<size_t, size_t>>& threads);

}  // namespace cryo
