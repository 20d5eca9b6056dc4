#include "state/process/job_control_stop.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <thread>

#include "base/file_util.h"
#include "kernel/proc_status.h"
#include "ptrace/remote_syscalls.h"

namespace cryo {

// Dump.

Result<JobControlStop> read_job_control_stop(pid_t pid, const std::vector<Tracee>& threads, const ProcStat& leader_stat) {
  JobControlStop stop;
  int stopped = 0;
  for (const Tracee& thread : threads) {
    const WaitStatus& seen = thread.last_stop();
    bool in_group_stop = seen.group_stop();
    stop.thread_stopped.push_back(in_group_stop);
    if (!in_group_stop) continue;
    ++stopped;
    if (stop.signal != 0 && stop.signal != seen.stop_signal())
      return fail("pid " + std::to_string(pid) + ": its threads are stopped by different signals");
    stop.signal = seen.stop_signal();
  }
  if (stopped != 0 && stopped != static_cast<int>(threads.size()))
    return fail(make_error("pid " + std::to_string(pid) + ": a job-control stop (" + sigabbrev_np(stop.signal) +
                           ") was still reaching its threads at the freeze (" + std::to_string(stopped) + " of " +
                           std::to_string(threads.size()) + " stopped)")
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

// Restore.

namespace {

constexpr auto kStopLimit = std::chrono::seconds(5);

uint64_t bit(int sig) { return 1ull << (sig - 1); }

bool sigchld_pending_in_image(const image::ProcessCore& core) {
  for (const auto& info : core.shared_pending()) {
    int signo = 0;
    if (info.size() >= sizeof signo) std::memcpy(&signo, info.data(), sizeof signo);
    if (signo == SIGCHLD) return true;
  }
  return false;
}

// The kernel tells the parent of a completed group stop with SIGCHLD unless its action is SIG_IGN
// or has SA_NOCLDSTOP.
bool parent_gets_sigchld(const image::ProcessCore& parent) {
  for (const auto& action : parent.sigactions())
    if (action.signo() == SIGCHLD) return action.handler() != reinterpret_cast<uint64_t>(SIG_IGN) && !(action.flags() & SA_NOCLDSTOP);
  return true;
}

// Waits until every thread of the process is in state T (the group stop is complete).
Result<> wait_until_stopped(pid_t host_pid, const std::vector<pid_t>& tids) {
  auto deadline = std::chrono::steady_clock::now() + kStopLimit;
  for (pid_t tid : tids) {
    for (;;) {
      ASSIGN_OR_RETURN(ProcStat stat, read_proc_stat(tid));
      if (stat.state == 'T') break;
      if (std::chrono::steady_clock::now() > deadline)
        return fail("thread " + std::to_string(tid) + " of host pid " + std::to_string(host_pid) + " is in state " +
                    std::string(1, stat.state) + ", not stopped, " + std::to_string(kStopLimit.count()) + " s after its stop signal");
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  return {};
}

// Takes back the SIGCHLD the new stop sent the parent: rt_sigtimedwait with a zero timeout, on a
// scratch page mapped for the purpose (the guard blocks every signal meanwhile, so none is delivered).
Result<> take_back_sigchld(Tracee& parent) {
  ASSIGN_OR_RETURN(SyscallSite site, find_syscall_site(parent.tid()));
  ASSIGN_OR_RETURN(RemoteSyscalls remote, RemoteSyscalls::create(parent, site));
  remote.set_registers_to_restore(remote.saved_registers());
  ASSIGN_OR_RETURN(uint64_t page, remote.call("mmap", SYS_mmap, {0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                                                                 static_cast<uint64_t>(-1), 0}));
  struct {
    uint64_t set;
    struct timespec zero;
  } args{bit(SIGCHLD), {0, 0}};
  iovec local{&args, sizeof args}, far{reinterpret_cast<void*>(page), sizeof args};
  Result<uint64_t> taken = 0;
  if (::process_vm_writev(parent.tid(), &local, 1, &far, 1, 0) != static_cast<ssize_t>(sizeof args))
    taken = fail_errno("process_vm_writev");
  else
    taken = remote.call("rt_sigtimedwait", SYS_rt_sigtimedwait, {page, 0, page + offsetof(decltype(args), zero), 8});
  RETURN_IF_ERROR(remote.call("munmap", SYS_munmap, {page, 4096}));
  RETURN_IF_ERROR(taken);
  if (*taken != SIGCHLD) return fail("rt_sigtimedwait took signal " + std::to_string(*taken) + ", not SIGCHLD");
  return {};
}

// The parent had collected the stop already: collect it again, so waitpid(WUNTRACED) does not
// report it twice.
Result<> collect_stop_again(Tracee& parent, uint32_t child) {
  ASSIGN_OR_RETURN(SyscallSite site, find_syscall_site(parent.tid()));
  ASSIGN_OR_RETURN(RemoteSyscalls remote, RemoteSyscalls::create(parent, site));
  remote.set_registers_to_restore(remote.saved_registers());
  ASSIGN_OR_RETURN(uint64_t got, remote.call("wait4", SYS_wait4, {child, 0, WUNTRACED | WNOHANG, 0}));
  if (got != child) return fail("wait4(" + std::to_string(child) + ", WUNTRACED) found no stop to collect");
  return {};
}

Result<> fix_parent(const ImageSet& images, const ProcessImage& child, const HostPidOf& host_pid_of,
                    std::vector<std::unique_ptr<Tracee>>& tracees, const std::vector<std::pair<size_t, size_t>>& threads) {
  const ProcessImage* parent = nullptr;
  size_t parent_index = 0;
  for (size_t i = 0; i < images.processes.size(); ++i)
    if (images.processes[i].pid() == child.entry.ppid()) parent = &images.processes[parent_index = i];
  if (!parent || parent->zombie()) return {};
  Tracee& leader = *tracees.at(threads.at(parent_index).first);
  if (!leader.attached()) return fail("its parent pid " + std::to_string(parent->pid()) + " was released before it");
  std::string where = "its parent pid " + std::to_string(parent->pid());
  if (child.core.stop_reported()) RETURN_IF_ERROR_CTX(collect_stop_again(leader, child.pid()), where);
  if (!parent_gets_sigchld(parent->core) || sigchld_pending_in_image(parent->core)) return {};
  // The SIGCHLD follows the stop by a moment (the kernel sends it after the last thread stopped).
  pid_t host = host_pid_of(parent->pid());
  auto deadline = std::chrono::steady_clock::now() + kStopLimit;
  for (;;) {
    ASSIGN_OR_RETURN(ProcStatus status, read_proc_status(host));
    if (status.shared_pending & bit(SIGCHLD)) break;
    if (std::chrono::steady_clock::now() > deadline) return fail(where + " got no SIGCHLD for the stop");
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  RETURN_IF_ERROR_CTX(take_back_sigchld(leader), where);
  return {};
}

}  // namespace

Result<> release_stopped_processes(const ImageSet& images, const TreePlan& plan, const HostPidOf& host_pid_of,
                                   std::vector<std::unique_ptr<Tracee>>& tracees,
                                   const std::vector<std::pair<size_t, size_t>>& threads) {
  // Children before parents: a parent must still be traced when its child's stop is fixed up.
  for (auto it = plan.creation_order.rbegin(); it != plan.creation_order.rend(); ++it) {
    const ProcessImage& process = images.processes[*it];
    int sig = static_cast<int>(process.core.stop_signal());
    if (process.zombie() || sig == 0) continue;
    std::string where = "restore pid " + std::to_string(process.pid()) + ": job-control stop (" + sigabbrev_np(sig) + ")";
    pid_t host = host_pid_of(process.pid());
    // Process-directed, as kill(1) sends it: whichever thread is released first takes it and stops
    // the others, which take part in the group stop as they are detached.
    if (::kill(host, sig) != 0) return fail(errno_error("kill(" + std::to_string(host) + ", " + sigabbrev_np(sig) + ")").context(where));
    std::vector<pid_t> tids;
    for (size_t t = threads[*it].first; t < threads[*it].second; ++t) {
      tids.push_back(tracees[t]->tid());
      RETURN_IF_ERROR_CTX(tracees[t]->detach(), where);
    }
    RETURN_IF_ERROR_CTX(wait_until_stopped(host, tids), where);
    RETURN_IF_ERROR_CTX(fix_parent(images, process, host_pid_of, tracees, threads), where);
  }
  return {};
}

}  // namespace cryo
