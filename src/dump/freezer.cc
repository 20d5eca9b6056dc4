#include "dump/freezer.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <optional>
#include <set>
#include <thread>

#include "base/interrupt.h"
#include "base/logging.h"
#include "kernel/proc_stat.h"
#include "kernel/proc_status.h"
#include "kernel/proc_tasks.h"
#include "ptrace/reap.h"

namespace cryo::dump {
namespace {

auto log() { return logging::get("dump"); }

bool gone(const Error& e) { return e.err == ESRCH || e.err == ENOENT; }

// Seizes one thread. A thread that exited meanwhile is not an error: nullopt.
Result<std::optional<Tracee>> seize_thread(pid_t tid) {
  auto tracee = Tracee::seize(tid);
  if (!tracee) {
    if (gone(tracee.error())) return std::optional<Tracee>();
    // The kernel refuses to attach to a task that has begun to exit (EPERM, as for one already
    // traced): if it is a zombie or gone now, the next pass sees it as such.
    if (tracee.error().err == EPERM) {
      auto status = read_proc_status(tid);
      if (!status || status->state == 'Z' || status->state == 'X') return std::optional<Tracee>();
    }
    return fail(tracee.error());
  }
  return std::optional<Tracee>(std::move(*tracee));
}

}  // namespace

// Such a thread can be seized; one of a process that is exiting (its threads still counted for a
// moment) cannot, since ptrace refuses a task that has begun to exit.
Result<> refuse_dead_leader_with_live_threads(pid_t pid, const ProcStatus& status) {
  if (status.threads <= 1) return {};
  auto tids = list_threads(pid);
  if (!tids) return {};  // Gone meanwhile.
  for (pid_t tid : *tids) {
    if (tid == pid || !Tracee::seize(tid)) continue;
    return fail(make_error("process " + std::to_string(pid) + " (" + status.name + "): its main thread has ended (pthread_exit) while thread " +
                           std::to_string(tid) + " runs on, which cryo cannot dump: a restore would bring the process back without its threads"));
  }
  return {};
}

FrozenProcess* Freezer::find(pid_t pid) {
  for (auto& p : processes_)
    if (p.pid == pid) return &p;
  return nullptr;
}

Result<Freezer> Freezer::freeze(pid_t init) {
  Freezer freezer;
  // Each pass that seizes something may have missed tasks created meanwhile; a pass that seizes
  // nothing saw every task stopped, so nothing new can appear any more.
  for (int pass = 1;; ++pass) {
    RETURN_IF_ERROR(check_interrupt());
    ASSIGN_OR_RETURN(bool changed, freezer.freeze_pass(init));
    if (!changed) break;
    if (pass > 1000) return fail("the tree of PID " + std::to_string(init) + " keeps creating tasks faster than cryo can stop them");
  }
  if (freezer.processes_.empty() || freezer.processes_.front().pid != init || freezer.processes_.front().zombie)
    return fail(Error{"PID " + std::to_string(init) + " exited while it was being frozen", ESRCH, {}, 1});
  return freezer;
}

Result<bool> Freezer::freeze_pass(pid_t init) {
  bool changed = false;
  std::vector<pid_t> queue = {init};
  std::set<pid_t> seen;
  std::vector<FrozenProcess> ordered;
  for (size_t i = 0; i < queue.size(); ++i) {
    pid_t pid = queue[i];
    if (!seen.insert(pid).second) continue;
    FrozenProcess* existing = find(pid);
    FrozenProcess process;
    if (existing) {
      process = std::move(*existing);
    } else {
      process.pid = pid;
    }
    auto status = read_proc_status(pid);
    if (!status) {
      if (gone(status.error())) {  // Exited and already reaped.
        changed = true;
        continue;
      }
      return fail(status.error());
    }
    if (status->state == 'Z' || status->state == 'X') {
      RETURN_IF_ERROR(refuse_dead_leader_with_live_threads(pid, *status));
      // A zombie has no threads to seize and no memory left; its parent (frozen) cannot reap it now.
      // One whose threads are still counted is exiting: the next pass sees it again.
      if (!process.zombie || !process.threads.empty() || status->threads > 1) changed = true;
      process.zombie = true;
      for (auto& t : process.threads) t.abandon();
      process.threads.clear();
      ordered.push_back(std::move(process));
      continue;
    }
    if (status->tracer_pid != 0 && status->tracer_pid != ::getpid())
      return fail(make_error("process " + std::to_string(pid) + " (" + status->name + ") is already traced by PID " +
                             std::to_string(status->tracer_pid))
                      .with_hint("detach the debugger or tracer first"));
    auto tids = list_threads(pid);
    if (!tids) {
      if (gone(tids.error())) {
        changed = true;
        continue;
      }
      return fail(tids.error());
    }
    // The leader first, so threads[0] is always the process itself.
    std::stable_partition(tids->begin(), tids->end(), [&](pid_t t) { return t == pid; });
    for (pid_t tid : *tids) {
      bool have = std::any_of(process.threads.begin(), process.threads.end(), [&](const Tracee& t) { return t.tid() == tid; });
      if (have) continue;
      ASSIGN_OR_RETURN(auto tracee, seize_thread(tid));
      changed = true;
      if (!tracee) continue;
      log()->debug("seized pid {} tid {}", pid, tid);
      if (tid == pid) {
        process.threads.insert(process.threads.begin(), std::move(*tracee));
      } else {
        process.threads.push_back(std::move(*tracee));
      }
    }
    if (process.threads.empty() || process.threads.front().tid() != pid) {
      // The leader vanished between the listing and the seize: look again in the next pass.
      changed = true;
    }
    auto children = list_children(pid);
    if (!children) {
      if (!gone(children.error())) return fail(children.error());
      changed = true;
    } else {
      queue.insert(queue.end(), children->begin(), children->end());
    }
    ordered.push_back(std::move(process));
  }
  // Tasks seized earlier that are no longer in the tree (they exited and were reaped) are dropped.
  for (auto& p : processes_) {
    if (p.pid != 0 && !seen.count(p.pid)) {
      changed = true;
      for (auto& t : p.threads) t.abandon();
    }
  }
  processes_ = std::move(ordered);
  return changed;
}

Result<> Freezer::resume() {
  Error first;
  bool failed = false;
  for (auto& p : processes_) {
    for (auto& t : p.threads) {
      auto detached = t.detach();
      if (!detached && !gone(detached.error()) && !failed) {
        first = detached.error();
        failed = true;
      }
    }
  }
  if (failed) return fail(first);
  return {};
}

Result<> Freezer::kill() {
  if (processes_.empty()) return {};
  pid_t init = processes_.front().pid;
  // SIGKILL wakes a ptrace-stopped task and it dies without returning to user space. Killing the init
  // alone would do (the kernel then kills its namespace), but each process is named so none is left
  // waiting for the init's exit to reach it.
  for (auto& p : processes_)
    if (!p.zombie) ::kill(p.pid, SIGKILL);
  // As the tracer, cryo must collect each task's death, or the init's death never completes.
  std::vector<pid_t> tids;
  for (auto& p : processes_)
    for (auto& t : p.threads)
      if (t.attached()) tids.push_back(t.tid());
  std::vector<pid_t> left = reap_killed(std::move(tids), std::chrono::seconds(10));
  for (auto& p : processes_)
    for (auto& t : p.threads) t.abandon();
  if (!left.empty()) log()->debug("{} killed task(s) not collected within 10 s", left.size());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto stat = read_proc_stat(init);
    if (!stat || stat->state == 'Z' || stat->state == 'X') return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return fail("PID " + std::to_string(init) + " is still alive 10 s after SIGKILL");
}

}  // namespace cryo::dump
