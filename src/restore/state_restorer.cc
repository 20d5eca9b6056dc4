#include "restore/state_restorer.h"

#include <fcntl.h>
#include <linux/prctl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/file_util.h"
#include "base/hex.h"
#include "base/logging.h"
#include "kernel/proc_limits.h"
#include "kernel/kernel_abi.h"

namespace cryo::restore {
namespace {

int siginfo_signo(const std::string& info) {
  int signo = 0;
  std::memcpy(&signo, info.data(), sizeof signo);
  return signo;
}

}  // namespace

Result<> restore_mm_fields(RemoteTask& task, const image::MmFields& mm) {
  task.reset_scratch();
  ASSIGN_OR_RETURN(uint64_t exe_path, task.put_string(mm.exe()));
  ASSIGN_OR_RETURN_CTX(uint64_t exe_fd, task.call("open", SYS_openat, {static_cast<uint64_t>(AT_FDCWD), exe_path, O_RDONLY | O_CLOEXEC}),
                       "open executable " + mm.exe());
  uint64_t auxv = 0;
  if (!mm.auxv().empty()) {
    ASSIGN_OR_RETURN(auxv, task.put(mm.auxv().data(), mm.auxv().size()));
  }
  prctl_mm_map map{};
  map.start_code = mm.start_code();
  map.end_code = mm.end_code();
  map.start_data = mm.start_data();
  map.end_data = mm.end_data();
  map.start_brk = mm.start_brk();
  map.brk = mm.brk();
  map.start_stack = mm.start_stack();
  map.arg_start = mm.arg_start();
  map.arg_end = mm.arg_end();
  map.env_start = mm.env_start();
  map.env_end = mm.env_end();
  map.auxv = reinterpret_cast<__u64*>(auxv);
  map.auxv_size = static_cast<uint32_t>(mm.auxv().size());
  map.exe_fd = static_cast<uint32_t>(exe_fd);
  ASSIGN_OR_RETURN(uint64_t remote_map, task.put(&map, sizeof map));
  auto set = task.call("prctl(PR_SET_MM, PR_SET_MM_MAP)", SYS_prctl, {PR_SET_MM, PR_SET_MM_MAP, remote_map, sizeof map});
  RETURN_IF_ERROR_CTX(task.call("close", SYS_close, {exe_fd}), "close executable");
  if (!set) return fail(set.error().context("set mm fields (brk " + hex(mm.brk()) + ", stack " + hex(mm.start_stack()) + ")"));
  return {};
}

Result<> restore_sigactions(RemoteTask& task, const image::ProcessCore& core) {
  RETURN_IF_ERROR(task.require_no_traps("signal handlers"));
  for (const auto& action : core.sigactions()) {
    if (action.handler() == 0 && action.flags() == 0 && action.mask() == 0) continue;  // SIG_DFL, as reset
    kernel_abi::Sigaction sa{action.handler(), action.flags(), action.restorer(), action.mask()};
    task.reset_scratch();
    ASSIGN_OR_RETURN(uint64_t remote, task.put(&sa, sizeof sa));
    RETURN_IF_ERROR_CTX(task.call("rt_sigaction", SYS_rt_sigaction, {action.signo(), remote, 0, 8}),
                        "signal handler of signal " + std::to_string(action.signo()));
  }
  return {};
}

Result<> restore_thread_registrations(RemoteTask& task, const image::ThreadCore& thread) {
  std::string where = "thread " + std::to_string(thread.tid());
  const auto& ss = thread.altstack();
  if (!(ss.flags() & SS_DISABLE)) {
    // SS_ONSTACK is a state the kernel reports, not a flag it takes.
    kernel_abi::Stack stack{ss.sp(), ss.flags() & ~SS_ONSTACK, 0, ss.size()};
    task.reset_scratch();
    ASSIGN_OR_RETURN(uint64_t remote, task.put(&stack, sizeof stack));
    RETURN_IF_ERROR_CTX(task.call("sigaltstack", SYS_sigaltstack, {remote, 0}), where);
  }
  if (thread.robust_list() != 0)
    RETURN_IF_ERROR_CTX(task.call("set_robust_list", SYS_set_robust_list, {thread.robust_list(), thread.robust_list_len()}), where);
  RETURN_IF_ERROR_CTX(task.call("set_tid_address", SYS_set_tid_address, {thread.clear_child_tid()}), where);
  const auto& rseq = thread.rseq();
  if (rseq.address() != 0)
    RETURN_IF_ERROR_CTX(task.call("rseq", SYS_rseq, {rseq.address(), rseq.length(), 0, rseq.signature()}),
                        where + ": register rseq at " + hex(rseq.address()));
  return {};
}

Result<> restore_itimers(RemoteTask& task, const image::ProcessCore& core) {
  for (const auto& timer : core.itimers()) {
    if (timer.value_us() == 0) continue;  // Disarmed, as in a fresh process.
    kernel_abi::Itimerval value{static_cast<int64_t>(timer.interval_us() / 1000000), static_cast<int64_t>(timer.interval_us() % 1000000),
                          static_cast<int64_t>(timer.value_us() / 1000000), static_cast<int64_t>(timer.value_us() % 1000000)};
    task.reset_scratch();
    ASSIGN_OR_RETURN(uint64_t remote, task.put(&value, sizeof value));
    RETURN_IF_ERROR_CTX(task.call("setitimer", SYS_setitimer, {timer.which(), remote, 0}), "interval timer " + std::to_string(timer.which()));
  }
  return {};
}

Result<> create_posix_timers(RemoteTask& task, const image::ProcessCore& core) {
  if (core.posix_timers_size() == 0) return {};
  // Timer IDs are the process's handles (timer_t), so each must come back with its old value. Since
  // Linux 6.17 a process may ask timer_create to take the ID it is given; off again afterwards.
  auto on = task.call("prctl(PR_TIMER_CREATE_RESTORE_IDS, on)", SYS_prctl, {kernel_abi::kPrTimerCreateRestoreIds, 1});
  if (!on) return fail(on.error().with_hint("restoring POSIX timers with their IDs needs Linux 6.17 or later"));
  for (const auto& timer : core.posix_timers()) {
    std::string what = "POSIX timer " + std::to_string(timer.id());
    kernel_abi::Sigevent event{};
    event.value = timer.sigval();
    event.signo = timer.signo();
    event.notify = timer.notify();
    event.tid = static_cast<int32_t>(timer.notify_tid());
    task.reset_scratch();
    ASSIGN_OR_RETURN(uint64_t remote_event, task.put(&event, sizeof event));
    int32_t id = timer.id();
    ASSIGN_OR_RETURN(uint64_t remote_id, task.put(&id, sizeof id));
    RETURN_IF_ERROR_CTX(task.call("timer_create", SYS_timer_create, {static_cast<uint64_t>(timer.clock_id()), remote_event, remote_id}),
                        what);
  }
  RETURN_IF_ERROR(task.call("prctl(PR_TIMER_CREATE_RESTORE_IDS, off)", SYS_prctl, {kernel_abi::kPrTimerCreateRestoreIds, 0}));
  return {};
}

Result<> arm_posix_timers(RemoteTask& task, const image::ProcessCore& core) {
  // Armed with the time they had left: relative to the restored clocks, which continue from the
  // freeze under the default clock policy.
  for (const auto& timer : core.posix_timers()) {
    if (timer.value_ns() == 0) continue;
    kernel_abi::Itimerspec spec{static_cast<int64_t>(timer.interval_ns() / 1000000000), static_cast<int64_t>(timer.interval_ns() % 1000000000),
                          static_cast<int64_t>(timer.value_ns() / 1000000000), static_cast<int64_t>(timer.value_ns() % 1000000000)};
    task.reset_scratch();
    ASSIGN_OR_RETURN(uint64_t remote, task.put(&spec, sizeof spec));
    RETURN_IF_ERROR_CTX(task.call("timer_settime", SYS_timer_settime, {static_cast<uint64_t>(timer.id()), 0, remote, 0}),
                        "POSIX timer " + std::to_string(timer.id()));
  }
  return {};
}

Result<> restore_pending_signals(RemoteTask& task, const image::ProcessCore& core) {
  // The tracee queues them to itself: the kernel accepts any si_code for a process's own signals.
  RETURN_IF_ERROR(task.require_no_traps("pending signals"));
  uint64_t pid = core.pid();
  for (const auto& info : core.shared_pending()) {
    int signo = siginfo_signo(info);
    task.reset_scratch();
    ASSIGN_OR_RETURN(uint64_t remote, task.put(info.data(), info.size()));
    RETURN_IF_ERROR_CTX(task.call("rt_sigqueueinfo", SYS_rt_sigqueueinfo, {pid, static_cast<uint64_t>(signo), remote}),
                        "pending signal " + std::to_string(signo));
  }
  return restore_thread_pending_signals(task, core.pid(), core.threads(0));
}

Result<> restore_thread_pending_signals(RemoteTask& task, uint32_t pid, const image::ThreadCore& thread) {
  // Only a thread may queue a signal with the si_code of tgkill (SI_TKILL) to itself, so each
  // thread queues its own.
  RETURN_IF_ERROR(task.require_no_traps("pending signals"));
  for (const auto& info : thread.pending()) {
    int signo = siginfo_signo(info);
    task.reset_scratch();
    ASSIGN_OR_RETURN(uint64_t remote, task.put(info.data(), info.size()));
    RETURN_IF_ERROR_CTX(task.call("rt_tgsigqueueinfo", SYS_rt_tgsigqueueinfo, {pid, thread.tid(), static_cast<uint64_t>(signo), remote}),
                        "pending signal " + std::to_string(signo) + " of thread " + std::to_string(thread.tid()));
  }
  return {};
}

Result<> restore_rlimits(pid_t host_pid, uint32_t pid, const image::ProcessCore& core) {
  for (const auto& limit : core.rlimits()) {
    rlimit wanted{limit.cur(), limit.max()};
    rlimit old{};
    auto resource = static_cast<__rlimit_resource>(limit.resource());
    if (::prlimit(host_pid, resource, &wanted, &old) == 0) continue;
    int err = errno;
    if (err != EPERM) return fail(errno_error("prlimit(" + std::to_string(limit.resource()) + ")", err).context("rlimits"));
    // Raising a hard limit above cryo's own needs CAP_SYS_RESOURCE. A lower limit than the process
    // had would be a silent change it could trip over later (EMFILE, a smaller stack): refuse.
    if (::prlimit(host_pid, resource, nullptr, &old) != 0) return fail(errno_error("prlimit").context("rlimits"));
    return fail(make_error("pid " + std::to_string(pid) + " had a hard " + rlimit_name(limit.resource()) + " of " +
                           std::to_string(limit.max()) + ", above the " + std::to_string(old.rlim_max) +
                           " that cryo may set without CAP_SYS_RESOURCE")
                    .with_hint("restore with CAP_SYS_RESOURCE, or from a shell whose hard limit (ulimit -H) is at least that"));
  }
  return {};
}

Result<> restore_process_tunables(pid_t host_pid, uint32_t pid, const image::ProcessCore& core) {
  std::string dir = "/proc/" + std::to_string(host_pid) + "/";
  auto put = [&](const char* name, const std::string& value) -> Result<> {
    auto written = write_existing_file(dir + name, value);
    if (written) return {};
    Error e = written.error().context("pid " + std::to_string(pid) + ": " + name + " " + value);
    if (e.err == EACCES || e.err == EPERM) e = e.with_hint("restore with CAP_SYS_RESOURCE (a lower oom_score_adj than cryo's own needs it)");
    return fail(e);
  };
  if (core.has_coredump_filter()) {
    char hex_value[16];
    // The kernel parses it with base 0: hex needs its 0x.
    std::snprintf(hex_value, sizeof hex_value, "0x%x", core.coredump_filter());
    RETURN_IF_ERROR(put("coredump_filter", hex_value));
  }
  if (core.has_oom_score_adj()) RETURN_IF_ERROR(put("oom_score_adj", std::to_string(core.oom_score_adj())));
  // 0 would mean "back to the default", and only real-time threads show 0 (sched_setattr sets that).
  if (core.has_timerslack_ns() && core.timerslack_ns() != 0)
    RETURN_IF_ERROR(put("timerslack_ns", std::to_string(core.timerslack_ns())));
  return {};
}

Result<> restore_thread_prctl_state(RemoteTask& task, const image::ThreadCore& thread, bool leader) {
  std::string where = "thread " + std::to_string(thread.tid());
  // The leader's parent-death signal and timer slack come from the process's fields (older images).
  if (!leader && thread.has_pdeath_signal())
    RETURN_IF_ERROR_CTX(task.call("prctl(PR_SET_PDEATHSIG)", SYS_prctl, {PR_SET_PDEATHSIG, static_cast<uint64_t>(thread.pdeath_signal())}),
                        where);
  // 0 would mean "back to the default" (see restore_process_tunables).
  if (!leader && thread.has_timerslack_ns() && thread.timerslack_ns() != 0)
    RETURN_IF_ERROR_CTX(task.call("prctl(PR_SET_TIMERSLACK)", SYS_prctl, {PR_SET_TIMERSLACK, thread.timerslack_ns()}), where);
  if (thread.has_tsc_mode())
    RETURN_IF_ERROR_CTX(task.call("prctl(PR_SET_TSC)", SYS_prctl, {PR_SET_TSC, static_cast<uint64_t>(thread.tsc_mode())}), where);
  if (thread.has_mce_kill()) {
    if (thread.mce_kill() == PR_MCE_KILL_DEFAULT)
      RETURN_IF_ERROR_CTX(task.call("prctl(PR_MCE_KILL, CLEAR)", SYS_prctl, {PR_MCE_KILL, PR_MCE_KILL_CLEAR, 0, 0, 0}), where);
    else
      RETURN_IF_ERROR_CTX(task.call("prctl(PR_MCE_KILL, SET)", SYS_prctl,
                                    {PR_MCE_KILL, PR_MCE_KILL_SET, static_cast<uint64_t>(thread.mce_kill()), 0, 0}),
                          where);
  }
  return {};
}

Result<> restore_process_flags(RemoteTask& task, const image::ProcessCore& core) {
  RETURN_IF_ERROR(task.call("prctl(PR_SET_DUMPABLE)", SYS_prctl, {PR_SET_DUMPABLE, core.dumpable() ? 1u : 0u}));
  RETURN_IF_ERROR(task.call("prctl(PR_SET_PDEATHSIG)", SYS_prctl, {PR_SET_PDEATHSIG, static_cast<uint64_t>(core.pdeath_signal())}));
  RETURN_IF_ERROR(restore_thread_prctl_state(task, core.threads(0), true));
  if (core.thp_disabled())
    RETURN_IF_ERROR(task.call("prctl(PR_SET_THP_DISABLE)", SYS_prctl, {PR_SET_THP_DISABLE, 1, 0, 0, 0}));
  if (core.child_subreaper()) RETURN_IF_ERROR(task.call("prctl(PR_SET_CHILD_SUBREAPER)", SYS_prctl, {PR_SET_CHILD_SUBREAPER, 1}));
  if (core.creds().no_new_privs())
    RETURN_IF_ERROR(task.call("prctl(PR_SET_NO_NEW_PRIVS)", SYS_prctl, {PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0}));
  return {};
}

}  // namespace cryo::restore
