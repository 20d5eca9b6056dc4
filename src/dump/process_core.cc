#include "dump/process_core.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <map>
#include <string>

#include "base/file_util.h"
#include "base/logging.h"
#include "dump/cgroups.h"
#include "dump/file_identity.h"
#include "dump/remote_state.h"
#include "kernel/proc_limits.h"
#include "kernel/proc_text.h"
#include "state/scheduling.h"
#include "kernel/proc_timers.h"

namespace cryo::dump {
namespace {

std::string proc_path(pid_t pid, const std::string& name) { return "/proc/" + std::to_string(pid) + "/" + name; }

void fill_creds(const ProcStatus& s, uint32_t securebits, image::Creds* creds) {
  for (uint32_t uid : s.uids) creds->add_uids(uid);
  for (uint32_t gid : s.gids) creds->add_gids(gid);
  for (uint32_t g : s.groups) creds->add_groups(g);
  creds->set_cap_inheritable(s.cap_inheritable);
  creds->set_cap_permitted(s.cap_permitted);
  creds->set_cap_effective(s.cap_effective);
  creds->set_cap_bounding(s.cap_bounding);
  creds->set_cap_ambient(s.cap_ambient);
  creds->set_securebits(securebits);
  creds->set_no_new_privs(s.no_new_privs);
}

// From /proc/PID/limits, not prlimit64(): that needs CAP_SYS_RESOURCE for a process of another user
// (a daemon that dropped privileges), and the tree is frozen, so the limits cannot change meanwhile.
Result<> fill_rlimits(pid_t pid, image::ProcessCore& core) {
  ASSIGN_OR_RETURN(std::vector<ResourceLimit> limits, read_proc_limits(pid));
  for (size_t resource = 0; resource < limits.size(); ++resource) {
    auto* r = core.add_rlimits();
    r->set_resource(static_cast<uint32_t>(resource));
    r->set_cur(limits[resource].cur);
    r->set_max(limits[resource].max);
  }
  return {};
}

// coredump_filter (hex), oom_score_adj and timerslack_ns, as /proc/PID shows them.
Result<> fill_process_tunables(pid_t pid, image::ProcessCore& core) {
  auto number = [&](const char* name) -> Result<std::string> {
    ASSIGN_OR_RETURN(std::string text, read_file(proc_path(pid, name)));
    return std::string(proc_text::trim(text.substr(0, text.find('\n'))));
  };
  ASSIGN_OR_RETURN(std::string filter, number("coredump_filter"));
  ASSIGN_OR_RETURN(uint64_t filter_bits, proc_text::parse_u64(filter, 16, "coredump_filter"));
  core.set_coredump_filter(static_cast<uint32_t>(filter_bits));
  ASSIGN_OR_RETURN(std::string adj, number("oom_score_adj"));
  ASSIGN_OR_RETURN(int64_t adj_value, proc_text::parse_i64(adj, "oom_score_adj"));
  core.set_oom_score_adj(static_cast<int32_t>(adj_value));
  ASSIGN_OR_RETURN(std::string slack, number("timerslack_ns"));
  ASSIGN_OR_RETURN(uint64_t slack_ns, proc_text::parse_u64(slack, 10, "timerslack_ns"));
  core.set_timerslack_ns(slack_ns);
  return {};
}

Result<> fill_mm(pid_t pid, const ProcStat& stat, uint64_t brk, image::MmFields* mm) {
  mm->set_start_code(stat.start_code);
  mm->set_end_code(stat.end_code);
  mm->set_start_data(stat.start_data);
  mm->set_end_data(stat.end_data);
  mm->set_start_brk(stat.start_brk);
  mm->set_brk(brk);
  mm->set_start_stack(stat.start_stack);
  mm->set_arg_start(stat.arg_start);
  mm->set_arg_end(stat.arg_end);
  mm->set_env_start(stat.env_start);
  mm->set_env_end(stat.env_end);
  ASSIGN_OR_RETURN(std::string auxv, read_file(proc_path(pid, "auxv")));
  mm->set_auxv(auxv);
  ASSIGN_OR_RETURN(std::string exe, read_link(proc_path(pid, "exe")));
  mm->set_exe(exe);
  ASSIGN_OR_RETURN(struct stat st, stat_path(proc_path(pid, "exe")));
  set_identity(st, mm->mutable_exe_identity());
  return {};
}

Result<> fill_thread(Tracee& tracee, uint32_t tid_inside, image::ThreadCore& t) {
  pid_t tid = tracee.tid();
  t.set_tid(tid_inside);
  // Registers as captured: if the thread was stopped inside a syscall they still say so (orig_rax,
  // rax = -ERESTART*), and restore decides how to resume it.
  ASSIGN_OR_RETURN(Registers regs, tracee.get_registers());
  t.set_gpregs(registers_to_bytes(regs));
  ASSIGN_OR_RETURN(std::string xstate, tracee.get_xstate());
  t.set_xstate(xstate);
  ASSIGN_OR_RETURN(uint64_t blocked, tracee.get_sigmask());
  t.set_blocked_mask(blocked);
  ASSIGN_OR_RETURN(auto pending, tracee.peek_pending_signals(false));
  for (auto& siginfo : pending) t.add_pending(siginfo);
  ASSIGN_OR_RETURN(RseqConfig rseq, tracee.get_rseq_config());
  t.mutable_rseq()->set_address(rseq.address);
  t.mutable_rseq()->set_length(rseq.length);
  t.mutable_rseq()->set_signature(rseq.signature);
  // get_robust_list works on another task for a tracer (PTRACE_MODE_READ).
  uint64_t head = 0;
  size_t len = 0;
  if (::syscall(SYS_get_robust_list, tid, &head, &len) != 0)
    return fail_errno("tid " + std::to_string(tid) + ": get_robust_list");
  t.set_robust_list(head);
  t.set_robust_list_len(len);
  ASSIGN_OR_RETURN(std::string comm, read_file("/proc/" + std::to_string(tid) + "/task/" + std::to_string(tid) + "/comm"));
  t.set_comm(std::string(proc_text::trim(comm)));
  ASSIGN_OR_RETURN(*t.mutable_sched(), read_sched_state(tid));
  return {};
}

// Credentials belong to each thread, and glibc changes them in every thread at once; a process
// whose threads differ (raw setuid syscalls) would be restored with the leader's in all of them.
Result<> check_same_creds(const ProcStatus& thread, const ProcStatus& leader) {
  if (thread.uids != leader.uids || thread.gids != leader.gids || thread.groups != leader.groups ||
      thread.cap_permitted != leader.cap_permitted || thread.cap_effective != leader.cap_effective ||
      thread.cap_inheritable != leader.cap_inheritable || thread.cap_bounding != leader.cap_bounding ||
      thread.cap_ambient != leader.cap_ambient)
    return fail(make_error("its credentials differ from the thread group leader's, which cryo cannot dump"));
  return {};
}

// The process's POSIX timers as /proc tells them; their times come later, from inside the process.
// `inside_tids` maps the host TIDs of its threads to their TIDs inside the namespace.
Result<> fill_posix_timers(pid_t pid, const std::map<pid_t, uint32_t>& inside_tids, image::ProcessCore& core) {
  ASSIGN_OR_RETURN(std::vector<ProcTimer> timers, read_proc_timers(pid));
  for (const auto& t : timers) {
    std::string what = "POSIX timer " + std::to_string(t.id);
    if (t.clock_id != CLOCK_REALTIME && t.clock_id != CLOCK_MONOTONIC && t.clock_id != CLOCK_BOOTTIME && t.clock_id != CLOCK_TAI)
      return fail(make_error(what + " counts on clock " + std::to_string(t.clock_id) +
                             " (a CPU-time or alarm clock), which cryo cannot dump yet"));
    auto* timer = core.add_posix_timers();
    timer->set_id(t.id);
    timer->set_clock_id(t.clock_id);
    timer->set_notify(t.notify);
    timer->set_signo(t.signo);
    timer->set_sigval(t.sigval);
    if (t.notify == (SIGEV_SIGNAL | SIGEV_THREAD_ID)) {
      auto tid = inside_tids.find(t.notify_pid);
      if (tid == inside_tids.end())
        return fail(make_error(what + " signals thread " + std::to_string(t.notify_pid) + ", which is not one of the process's"));
      timer->set_notify_tid(tid->second);
    } else if (t.notify != SIGEV_SIGNAL && t.notify != SIGEV_NONE) {
      return fail(make_error(what + " has notification kind " + std::to_string(t.notify) + ", which cryo cannot dump"));
    }
  }
  return {};
}

}  // namespace

uint32_t PidTranslation::inside(const ProcStatus& status) const {
  return ns_level < status.ns_pid.size() ? static_cast<uint32_t>(status.ns_pid[ns_level]) : 0;
}

Result<image::ProcessCore> collect_process_core(FrozenProcess& process, const ProcStatus& status, const ProcStat& stat,
                                                const PidTranslation& pids, uint32_t* mlockall_flags) {
  pid_t pid = process.pid;
  image::ProcessCore core;
  core.set_pid(pids.inside(status));
  ASSIGN_OR_RETURN(std::string comm, read_file(proc_path(pid, "comm")));
  core.set_comm(std::string(proc_text::trim(comm)));
  ASSIGN_OR_RETURN(std::string cmdline, read_file(proc_path(pid, "cmdline")));
  core.set_cmdline(cmdline);
  core.set_umask(status.umask);
  ASSIGN_OR_RETURN(std::string personality, read_file(proc_path(pid, "personality")));
  ASSIGN_OR_RETURN(uint64_t persona, proc_text::parse_u64(proc_text::trim(personality), 16, "personality"));
  core.set_personality(static_cast<uint32_t>(persona));
  RETURN_IF_ERROR(fill_rlimits(pid, core));
  RETURN_IF_ERROR(fill_process_tunables(pid, core));
  core.set_exit_signal(static_cast<uint32_t>(stat.exit_signal));

  // Registers, masks and pending signals are read before any syscall is injected.
  std::map<pid_t, uint32_t> inside_tids;
  for (Tracee& thread : process.threads) {
    uint32_t tid_inside = core.pid();
    if (thread.tid() != pid) {
      ASSIGN_OR_RETURN(ProcStatus thread_status, read_proc_status(thread.tid()));
      RETURN_IF_ERROR_CTX(check_same_creds(thread_status, status), "thread " + std::to_string(thread.tid()));
      // The preflight saw the leader's; a filter installed by one thread alone binds only it.
      if (thread_status.seccomp != 0)
        return fail(make_error("thread " + std::to_string(thread.tid()) + " runs under seccomp (mode " +
                               std::to_string(thread_status.seccomp) + "), which cryo cannot dump yet"));
      tid_inside = pids.inside(thread_status);
    }
    RETURN_IF_ERROR(fill_thread(thread, tid_inside, *core.add_threads()));
    inside_tids[thread.tid()] = tid_inside;
  }
  RETURN_IF_ERROR(fill_posix_timers(pid, inside_tids, core));
  std::vector<pid_t> tids;
  for (const auto& [tid, inside] : inside_tids) tids.push_back(tid);
  RETURN_IF_ERROR(fill_cgroups(pid, tids, core));
  ASSIGN_OR_RETURN(auto shared_pending, process.threads.front().peek_pending_signals(true));
  for (auto& siginfo : shared_pending) core.add_shared_pending(siginfo);

  ASSIGN_OR_RETURN(ProcessWideRemoteState remote, collect_remote_state(process.threads, core));
  fill_creds(status, remote.securebits, core.mutable_creds());
  core.set_pdeath_signal(remote.pdeath_signal);
  core.set_dumpable(remote.dumpable);
  core.set_child_subreaper(remote.child_subreaper);
  if (mlockall_flags) *mlockall_flags = remote.mlockall_flags;
  RETURN_IF_ERROR(fill_mm(pid, stat, remote.brk, core.mutable_mm()));
  return core;
}

}  // namespace cryo::dump
