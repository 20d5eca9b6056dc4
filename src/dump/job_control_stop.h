// Job-control stops (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU): which processes were stopped at the freeze,
// by which signal, and whether the parent had already collected the stop with waitpid(WUNTRACED).
// Seizing a stopped thread turns its group stop into a PTRACE_EVENT_STOP that carries the stop
// signal, while a running thread reports SIGTRAP: that is how cryo tells the job-control stop from
// its own.
#pragma once

#include "base/error.h"
#include "core.pb.h"
#include "dump/freezer.h"
#include "kernel/proc_stat.h"

namespace cryo::dump {

struct JobControlStop {
  int signal = 0;                    // 0: the process was running.
  bool reported = false;             // The parent had collected the stop already.
  std::vector<bool> thread_stopped;  // Per thread of the FrozenProcess, leader first.
};

// Reads what the freeze saw, before anything else stops and resumes the threads. A group stop
// caught half-way (some threads stopped, others not yet) is refused: dump again.
Result<JobControlStop> read_job_control_stop(const FrozenProcess& process, const ProcStat& leader_stat);

// Writes it into the core (threads in the same order as the FrozenProcess's).
void record_job_control_stop(const JobControlStop& stop, image::ProcessCore& core);

}  // namespace cryo::dump
