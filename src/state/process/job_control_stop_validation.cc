// The job-control stop of an image: one of the four stop signals, holding every thread, as the
// kernel's group stop does once it has completed (dump refuses one caught half-way). Linked by the
// image fuzzer (tests/fuzz/CMakeLists.txt).
#include <signal.h>

#include "state/process/job_control_stop.h"

namespace cryo {

void validate_job_control_stop(const image::ProcessCore& core, const image::ProblemSink& problem) {
  uint32_t sig = core.stop_signal();
  if (sig != 0 && sig != SIGSTOP && sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU)
    problem("stopped by signal " + std::to_string(sig) + ", which is not a job-control stop signal");
  // Only SIG_DFL stops on SIGTSTP, SIGTTIN, SIGTTOU; restore sends the signal again.
  for (const auto& a : core.sigactions())
    if (sig != 0 && a.signo() == sig && a.handler() != 0)
      problem("stopped by signal " + std::to_string(sig) + " but has a handler for it");
  if (sig == 0 && core.stop_reported()) problem("its job-control stop is marked as reported but it was not stopped");
  for (const auto& t : core.threads())
    if (t.group_stopped() != (sig != 0))
      problem("thread " + std::to_string(t.tid()) + (sig != 0 ? " is not" : " is") + " in the process's job-control stop");
}

}  // namespace cryo
