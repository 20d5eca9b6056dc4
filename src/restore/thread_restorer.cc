#include "restore/thread_restorer.h"

#include <fcntl.h>
#include <linux/prctl.h>
#include <linux/sched.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "kernel/proc_tasks.h"
#include "ptrace/registers.h"
#include "state/process/creds.h"
#include "state/process/signals.h"
#include "state/process/task_flags.h"
#include "state/thread/registers.h"
#include "state/thread/mempolicy.h"
#include "state/thread/registrations.h"
#include "state/thread/rseq.h"

namespace cryo::restore {
namespace {

// What pthread_create passes, less CLONE_SETTLS and the tid pointers: the registers (fs base
// included) and clear_child_tid are set from the image afterwards.
constexpr uint64_t kThreadFlags =
    CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;

// The kernel's struct clone_args, version 2 (with set_tid).
struct CloneArgs {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
static_assert(sizeof(CloneArgs) == 88);

// Makes the next PID the leader's namespace hands out `tid`: ns_last_pid applies to the writer's own
// PID namespace (docs/design.md), so the leader writes it, through its namespace's /proc.
Result<> set_ns_last_pid(RemoteTask& leader, uint32_t tid) {
  leader.reset_scratch();
  ASSIGN_OR_RETURN(uint64_t path, leader.put_string("/proc/sys/kernel/ns_last_pid"));
  std::string value = std::to_string(tid - 1);
  ASSIGN_OR_RETURN(uint64_t text, leader.put(value.data(), value.size()));
  ASSIGN_OR_RETURN(uint64_t fd, leader.call("open /proc/sys/kernel/ns_last_pid", SYS_openat,
                                            {static_cast<uint64_t>(AT_FDCWD), path, O_WRONLY | O_CLOEXEC}));
  auto written = leader.call("write ns_last_pid", SYS_write, {fd, text, value.size()});
  RETURN_IF_ERROR(leader.call("close ns_last_pid", SYS_close, {fd}));
  if (!written) return fail(written.error());
  return {};
}

// Waits for the first stop of a thread cryo was attached to by PTRACE_O_TRACECLONE.
Result<> wait_for_first_stop(Tracee& thread) {
  for (;;) {
    ASSIGN_OR_RETURN(WaitStatus status, thread.wait());
    if (status.gone()) return fail("tid " + std::to_string(thread.tid()) + " " + status.describe() + " right after its clone");
    if (status.event_stop()) return {};
    // Nothing else is expected before it ever ran; let it reach the stop.
    RETURN_IF_ERROR(thread.cont());
  }
}

// The host TID of the thread the leader's clone3 just made: the one its PTRACE_EVENT_CLONE stop
// named, or else the thread of the leader's that is neither the leader nor one of `known`. Only
// the fallback lists /proc/PID/task, which costs as much as the threads it lists: listing it for
// each new thread made 1,000 threads take seconds.
Result<pid_t> new_thread(RemoteTask& leader, const std::vector<std::unique_ptr<Tracee>>& known) {
  if (pid_t cloned = leader.syscalls().last_cloned(); cloned > 0) return cloned;
  ASSIGN_OR_RETURN(std::vector<pid_t> after, list_threads(leader.host_pid()));
  std::set<pid_t> seen{leader.host_pid()};
  for (const auto& tracee : known) seen.insert(tracee->tid());
  for (pid_t tid : after)
    if (!seen.count(tid)) return tid;
  return fail("the cloned thread is not in /proc");
}

// Clones one thread inside the leader and appends it, stopped, to `threads` (so that on any later
// failure it stays held until the tree is killed). Returns the TID the leader's clone3 reported.
Result<uint32_t> clone_thread(RemoteTask& leader, const image::ThreadCore& image, PidMethod method,
                              std::vector<std::unique_ptr<Tracee>>& threads) {
  if (method == PidMethod::NsLastPid) RETURN_IF_ERROR(set_ns_last_pid(leader, image.tid()));
  leader.reset_scratch();
  int32_t wanted = static_cast<int32_t>(image.tid());
  ASSIGN_OR_RETURN(uint64_t set_tid, leader.put(&wanted, sizeof wanted));
  CloneArgs args{};
  args.flags = kThreadFlags;
  if (method == PidMethod::Clone3) {
    args.set_tid = set_tid;
    args.set_tid_size = 1;
  }
  ASSIGN_OR_RETURN(uint64_t remote_args, leader.put(&args, sizeof args));
  auto cloned = leader.call(method == PidMethod::Clone3 ? "clone3(set_tid=" + std::to_string(wanted) + ")" : "clone3", SYS_clone3,
                            {remote_args, sizeof args});
  if (!cloned) {
    Error e = cloned.error();
    if (e.err == EEXIST) e = e.with_hint("TID " + std::to_string(wanted) + " is in use");
    return fail(e);
  }
  ASSIGN_OR_RETURN(pid_t host_tid, new_thread(leader, threads));
  threads.push_back(std::make_unique<Tracee>(Tracee::adopt_stopped(host_tid)));
  RETURN_IF_ERROR(wait_for_first_stop(*threads.back()));
  return static_cast<uint32_t>(*cloned);
}

}  // namespace

Result<> restore_thread_registrations(RemoteTask& task, const image::ThreadCore& thread) {
  RETURN_IF_ERROR(restore_sigaltstack(task, thread));
  RETURN_IF_ERROR(restore_registrations(task, thread));
  RETURN_IF_ERROR(restore_mempolicy(task, thread));
  return restore_rseq(task, thread);
}

Result<> create_threads(RemoteTask& leader, const ProcessImage& process, PidMethod method,
                        std::vector<std::unique_ptr<Tracee>>& threads) {
  const auto& core = process.core;
  if (core.threads_size() < 2) return {};
  // Attach every thread the leader clones, stopped before its first instruction.
  RETURN_IF_ERROR_CTX(leader.tracee().set_options(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE),
                      "trace the threads it clones");
  for (int i = 1; i < core.threads_size(); ++i) {
    const auto& image = core.threads(i);
    std::string where = "thread " + std::to_string(image.tid());
    ASSIGN_OR_RETURN_CTX(uint32_t got, clone_thread(leader, image, method, threads), where);
    if (got != image.tid())
      return fail(where + ": clone3 after writing ns_last_pid gave tid " + std::to_string(got) +
                  " (another task was created in between)");
    ASSIGN_OR_RETURN_CTX(RemoteTask task, RemoteTask::join(*threads.back(), leader), where);
    RETURN_IF_ERROR(restore_thread_registrations(task, image));
    RETURN_IF_ERROR(restore_thread_pending_signals(task, core, image));
    // The guard of `task` puts the thread's registers back; finish_thread sets the final ones.
  }
  RETURN_IF_ERROR_CTX(leader.tracee().set_options(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL), "stop tracing the threads it clones");
  return {};
}

Result<> finish_thread(Tracee& thread, RemoteTask& leader, const ProcessImage& process, int index) {
  const auto& image = process.core.threads(index);
  std::string where = "thread " + std::to_string(image.tid());
  ASSIGN_OR_RETURN_CTX(RemoteTask task, RemoteTask::join(thread, leader), where);
  // Credentials and no_new_privs belong to each thread; the leader's calls changed only its own.
  RETURN_IF_ERROR_CTX(restore_creds(task, process.core.creds()), where);
  RETURN_IF_ERROR(restore_thread_prctl_state(task, image, false));
  if (process.core.creds().no_new_privs())
    RETURN_IF_ERROR_CTX(task.call("prctl(PR_SET_NO_NEW_PRIVS)", SYS_prctl, {PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0}), where);
  // Only a thread of the process may rename a thread (/proc/PID/task/TID/comm refuses cryo).
  if (!image.comm().empty()) {
    task.reset_scratch();
    ASSIGN_OR_RETURN(uint64_t name, task.put_string(image.comm()));
    RETURN_IF_ERROR_CTX(task.call("prctl(PR_SET_NAME)", SYS_prctl, {PR_SET_NAME, name}), where);
  }
  ASSIGN_OR_RETURN_CTX(Registers final_regs, restore_registers(thread, image), where);
  RETURN_IF_ERROR_CTX(task.leave(final_regs, image.blocked_mask()), where);
  return {};
}

}  // namespace cryo::restore
