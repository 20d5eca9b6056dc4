#include "dump/job_control_stop.h"

#include <signal.h>

#include <string>

namespace cryo::dump {

Result<JobControlStop> read_job_control_stop(const FrozenProcess& process, const ProcStat& leader_stat) {
  JobControlStop stop;
  int stopped = 0;
  for (const Tracee& thread : process.threads) {
    const WaitStatus& seen = thread.last_stop();
    bool in_group_stop = seen.group_stop();
    stop.thread_stopped.push_back(in_group_stop);
    if (!in_group_stop) continue;
    ++stopped;
    if (stop.signal != 0 && stop.signal != seen.stop_signal())
      return fail("pid " + std::to_string(process.pid) + ": its threads are stopped by different signals");
    stop.signal = seen.stop_signal();
  }
  if (stopped != 0 && stopped != static_cast<int>(process.threads.size()))
    return fail(make_error("pid " + std::to_string(process.pid) + ": a job-control stop (" + sigabbrev_np(stop.signal) +
                           ") was still reaching its threads at the freeze (" + std::to_string(stopped) + " of " +
                           std::to_string(process.threads.size()) + " stopped)")
                    .with_hint("dump again"));
  // /proc/PID/stat's exit_code of a stopped process is the stop's wait status until the parent
  // collects it with waitpid(WUNTRACED), then 0 (measured on 6.18, also while seized).
  stop.reported = stop.signal != 0 && leader_stat.exit_code == 0;
  return stop;
}

void record_job_control_stop(const JobControlStop& stop, image::ProcessCore& core) {
  core.set_stop_signal(static_cast<uint32_t>(stop.signal));
  core.set_stop_reported(stop.reported);
  for (int i = 0; i < core.threads_size() && static_cast<size_t>(i) < stop.thread_stopped.size(); ++i)
    core.mutable_threads(i)->set_group_stopped(stop.thread_stopped[static_cast<size_t>(i)]);
}

}  // namespace cryo::dump
