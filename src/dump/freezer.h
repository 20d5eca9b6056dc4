// A frozen process tree: every thread of every process in a PID namespace seized and stopped with
// ptrace. If the object dies without resume() or kill(), its tasks are detached and the tree runs on
// unharmed, so any failure while dumping leaves the workload as it was.
#pragma once

#include <sys/types.h>

#include <vector>

#include "base/error.h"
#include "kernel/proc_status.h"
#include "ptrace/tracee.h"

namespace cryo::dump {

// A leader that ended with pthread_exit is a zombie in /proc while its process's other threads run
// on. Dumped as a zombie, the process would come back without them: refused, naming a live thread.
// A process that is exiting (its threads still counted for a moment) passes; the freeze looks at it
// again.
Result<> refuse_dead_leader_with_live_threads(pid_t pid, const ProcStatus& status);

struct FrozenProcess {
  pid_t pid = 0;                 // Host PID.
  bool zombie = false;           // Exited, not yet reaped: nothing to seize.
  std::vector<Tracee> threads;   // Leader first; empty for a zombie.
};

class Freezer {
 public:
  // Seizes the init, then every thread and every descendant, walking the tree again until a whole
  // pass finds nothing new (a process may fork or spawn a thread until it is itself stopped).
  static Result<Freezer> freeze(pid_t init);

  Freezer(Freezer&&) = default;
  Freezer& operator=(Freezer&&) = default;
  ~Freezer() = default;  // Each Tracee detaches itself.

  // Parents before children, the init first.
  std::vector<FrozenProcess>& processes() { return processes_; }
  FrozenProcess* find(pid_t pid);

  // Detaches every task: the tree continues exactly where it was stopped.
  Result<> resume();
  // Kills the tree while it is still stopped (so it cannot run a single instruction after the
  // dump), collects the tracer's exit notifications and waits until the init is gone.
  Result<> kill();

 private:
  Freezer() = default;
  Result<bool> freeze_pass(pid_t init);
  std::vector<FrozenProcess> processes_;
};

}  // namespace cryo::dump
