#include "state/process/signals.h"

#include <signal.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "state/process/timers.h"

namespace cryo {
namespace {

int siginfo_signo(const std::string& info) {
  int signo = 0;
  std::memcpy(&signo, info.data(), sizeof signo);
  return signo;
}

// Puts `now` in place of `held` unless they are the same; true if it did.
bool replace_if_changed(google::protobuf::RepeatedPtrField<std::string>& held, const std::vector<std::string>& now) {
  if (std::equal(held.begin(), held.end(), now.begin(), now.end())) return false;
  held.Clear();
  for (const auto& siginfo : now) held.Add(std::string(siginfo));
  return true;
}

}  // namespace

Result<> ask_sigactions(RemoteSyscalls& remote, uint64_t at) {
  for (int sig = 1; sig <= 64; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    RETURN_IF_ERROR(remote.call("rt_sigaction(" + std::to_string(sig) + ")", SYS_rt_sigaction,
                                {static_cast<uint64_t>(sig), 0, at + sig * sizeof(kernel_abi::Sigaction), 8}));
  }
  return {};
}

void read_sigactions(const char* answer, image::ProcessCore& core) {
  for (int sig = 1; sig <= 64; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    kernel_abi::Sigaction sa;
    std::memcpy(&sa, answer + sig * sizeof sa, sizeof sa);
    auto* action = core.add_sigactions();
    action->set_signo(static_cast<uint32_t>(sig));
    action->set_handler(sa.handler);
    action->set_flags(sa.flags);
    action->set_restorer(sa.restorer);
    action->set_mask(sa.mask);
  }
}

Result<> ask_sigaltstack(RemoteSyscalls& remote, uint64_t at) {
  RETURN_IF_ERROR(remote.call("sigaltstack", SYS_sigaltstack, {0, at}));
  return {};
}

void read_sigaltstack(const char* answer, image::ThreadCore& thread) {
  kernel_abi::Stack ss;
  std::memcpy(&ss, answer, sizeof ss);
  thread.mutable_altstack()->set_sp(ss.sp);
  thread.mutable_altstack()->set_flags(ss.flags);
  thread.mutable_altstack()->set_size(ss.size);
}

Result<> collect_thread_signals(Tracee& tracee, image::ThreadCore& thread) {
  ASSIGN_OR_RETURN(uint64_t blocked, tracee.get_sigmask());
  thread.set_blocked_mask(blocked);
  ASSIGN_OR_RETURN(auto pending, tracee.peek_pending_signals(false));
  for (auto& siginfo : pending) thread.add_pending(siginfo);
  return {};
}

Result<> collect_shared_pending(Tracee& leader, image::ProcessCore& core) {
  ASSIGN_OR_RETURN(auto shared_pending, leader.peek_pending_signals(true));
  for (auto& siginfo : shared_pending) core.add_shared_pending(siginfo);
  return {};
}

Result<bool> refresh_pending_signals(std::vector<Tracee>& threads, image::ProcessCore& core) {
  bool changed = false;
  for (size_t i = 0; i < threads.size() && i < static_cast<size_t>(core.threads_size()); ++i) {
    ASSIGN_OR_RETURN(auto pending, threads[i].peek_pending_signals(false));
    changed |= replace_if_changed(*core.mutable_threads(static_cast<int>(i))->mutable_pending(), pending);
  }
  ASSIGN_OR_RETURN(auto shared, threads.front().peek_pending_signals(true));
  changed |= replace_if_changed(*core.mutable_shared_pending(), shared);
  return changed;
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

Result<> restore_sigaltstack(RemoteTask& task, const image::ThreadCore& thread) {
  const auto& ss = thread.altstack();
  if (ss.flags() & SS_DISABLE) return {};
  // SS_ONSTACK is a state the kernel reports, not a flag it takes.
  kernel_abi::Stack stack{ss.sp(), ss.flags() & ~SS_ONSTACK, 0, ss.size()};
  task.reset_scratch();
  ASSIGN_OR_RETURN(uint64_t remote, task.put(&stack, sizeof stack));
  RETURN_IF_ERROR_CTX(task.call("sigaltstack", SYS_sigaltstack, {remote, 0}), "thread " + std::to_string(thread.tid()));
  return {};
}

Result<> restore_pending_signals(RemoteTask& task, const image::ProcessCore& core) {
  // The tracee queues them to itself: the kernel accepts any si_code for a process's own signals.
  RETURN_IF_ERROR(task.require_no_traps("pending signals"));
  uint64_t pid = core.pid();
  for (const auto& info : core.shared_pending()) {
    if (is_own_timer_signal(core, info)) continue;
    int signo = siginfo_signo(info);
    task.reset_scratch();
    ASSIGN_OR_RETURN(uint64_t remote, task.put(info.data(), info.size()));
    RETURN_IF_ERROR_CTX(task.call("rt_sigqueueinfo", SYS_rt_sigqueueinfo, {pid, static_cast<uint64_t>(signo), remote}),
                        "pending signal " + std::to_string(signo));
  }
  return restore_thread_pending_signals(task, core, core.threads(0));
}

Result<> restore_thread_pending_signals(RemoteTask& task, const image::ProcessCore& core, const image::ThreadCore& thread) {
  // Only a thread may queue a signal with the si_code of tgkill (SI_TKILL) to itself, so each
  // thread queues its own.
  RETURN_IF_ERROR(task.require_no_traps("pending signals"));
  uint32_t pid = core.pid();
  for (const auto& info : thread.pending()) {
    if (is_own_timer_signal(core, info)) continue;
    int signo = siginfo_signo(info);
    task.reset_scratch();
    ASSIGN_OR_RETURN(uint64_t remote, task.put(info.data(), info.size()));
    RETURN_IF_ERROR_CTX(task.call("rt_tgsigqueueinfo", SYS_rt_tgsigqueueinfo, {pid, thread.tid(), static_cast<uint64_t>(signo), remote}),
                        "pending signal " + std::to_string(signo) + " of thread " + std::to_string(thread.tid()));
  }
  return {};
}

}  // namespace cryo
