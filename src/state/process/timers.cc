#include "state/process/timers.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "kernel/process_memory.h"
#include "kernel/proc_timers.h"

namespace cryo {

Result<> collect_posix_timers(pid_t pid, const std::map<pid_t, uint32_t>& inside_tids, image::ProcessCore& core) {
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

Result<> collect_posix_timer_times(RemoteTask& task, image::ProcessCore& core) {
  // Each timer's time left, then its clock's reading right after: together, its next expiry.
  struct Answer {
    kernel_abi::Itimerspec spec;
    int64_t now_sec, now_nsec;
  };
  RemoteSyscalls& remote = task.syscalls();
  uint64_t scratch = task.scratch();
  const int per_area = static_cast<int>(task.scratch_size() / sizeof(Answer));
  for (int first = 0; first < core.posix_timers_size(); first += per_area) {
    int count = std::min(per_area, core.posix_timers_size() - first);
    for (int i = 0; i < count; ++i) {
      const auto& timer = core.posix_timers(first + i);
      auto id = static_cast<uint64_t>(timer.id());
      uint64_t at = scratch + static_cast<uint64_t>(i) * sizeof(Answer);
      RETURN_IF_ERROR(remote.call("timer_gettime(" + std::to_string(id) + ")", SYS_timer_gettime, {id, at}));
      RETURN_IF_ERROR(remote.call("clock_gettime(" + std::to_string(timer.clock_id()) + ")", SYS_clock_gettime,
                                  {static_cast<uint64_t>(timer.clock_id()), at + offsetof(Answer, now_sec)}));
    }
    ASSIGN_OR_RETURN(std::string area, task.read_scratch());
    for (int i = 0; i < count; ++i) {
      Answer answer;
      std::memcpy(&answer, area.data() + static_cast<size_t>(i) * sizeof answer, sizeof answer);
      const kernel_abi::Itimerspec& spec = answer.spec;
      auto* timer = core.mutable_posix_timers(first + i);
      timer->set_value_ns(static_cast<uint64_t>(spec.value_sec) * 1000000000ull + static_cast<uint64_t>(spec.value_nsec));
      timer->set_interval_ns(static_cast<uint64_t>(spec.interval_sec) * 1000000000ull + static_cast<uint64_t>(spec.interval_nsec));
      timer->set_read_at_ns(answer.now_sec * 1000000000 + answer.now_nsec);
    }
  }
  return {};
}

namespace {
constexpr size_t kItimersClockAt = 3 * sizeof(kernel_abi::Itimerval);
}  // namespace

Result<> ask_itimers(RemoteSyscalls& remote, uint64_t at) {
  for (int which = 0; which < 3; ++which)
    RETURN_IF_ERROR(remote.call("getitimer(" + std::to_string(which) + ")", SYS_getitimer,
                                {static_cast<uint64_t>(which), at + which * sizeof(kernel_abi::Itimerval)}));
  RETURN_IF_ERROR(remote.call("clock_gettime(CLOCK_MONOTONIC)", SYS_clock_gettime, {CLOCK_MONOTONIC, at + kItimersClockAt}));
  return {};
}

void read_itimers(const char* answer, image::ProcessCore& core) {
  int64_t now[2];  // struct timespec
  std::memcpy(now, answer + kItimersClockAt, sizeof now);
  for (int which = 0; which < 3; ++which) {
    kernel_abi::Itimerval it;
    std::memcpy(&it, answer + which * sizeof it, sizeof it);
    auto* timer = core.add_itimers();
    timer->set_which(static_cast<uint32_t>(which));
    timer->set_interval_us(static_cast<uint64_t>(it.interval_sec * 1000000 + it.interval_usec));
    timer->set_value_us(static_cast<uint64_t>(it.value_sec * 1000000 + it.value_usec));
    timer->set_read_at_ns(now[0] * 1000000000 + now[1]);
  }
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

namespace {

// A pending siginfo_t as the kernel fills it for a POSIX timer (x86-64 layout).
struct TimerSiginfo {
  int32_t signo, errno_value, code, pad;
  int32_t timer_id, overrun;
};

bool timer_sent(const std::string& siginfo, const image::PosixTimer& timer) {
  TimerSiginfo info;
  if (siginfo.size() < sizeof info || timer.notify() == SIGEV_NONE) return false;
  std::memcpy(&info, siginfo.data(), sizeof info);
  return info.code == SI_TIMER && info.timer_id == timer.id() && info.signo == timer.signo();
}

bool own_signal_pending(const image::ProcessCore& core, const image::PosixTimer& timer) {
  auto sent = [&](const auto& list) { return std::any_of(list.begin(), list.end(), [&](const std::string& s) { return timer_sent(s, timer); }); };
  return sent(core.shared_pending()) || std::any_of(core.threads().begin(), core.threads().end(), [&](const auto& t) { return sent(t.pending()); });
}

// An absolute time on the timer's clock, already past in the restored tree, from which the timer
// has expired: its last expiry before the dump (its next, less an interval), moved back by whole
// intervals while that is still ahead of the tree's clock, so the kernel fires it at once and
// goes on in the old phase. A one-shot timer expires at the clock's first nanosecond.
Result<int64_t> past_expiry(RemoteTask& task, const image::PosixTimer& timer) {
  auto interval = static_cast<int64_t>(timer.interval_ns());
  if (interval == 0) return int64_t{1};
  task.reset_scratch();
  int64_t now[2] = {0, 0};  // A struct timespec, filled by the tracee's clock_gettime.
  ASSIGN_OR_RETURN(uint64_t remote, task.put(now, sizeof now));
  RETURN_IF_ERROR(task.call("clock_gettime", SYS_clock_gettime, {static_cast<uint64_t>(timer.clock_id()), remote}));
  RETURN_IF_ERROR(read_process_memory(task.host_pid(), remote, now, sizeof now, "clock_gettime answer"));
  int64_t now_ns = now[0] * 1000000000 + now[1];
  int64_t at = timer.read_at_ns() + static_cast<int64_t>(timer.value_ns()) - interval;
  if (at > now_ns) at -= ((at - now_ns) / interval + 1) * interval;
  return std::max<int64_t>(at, 1);
}


// The tree's reading of `clock_id` at the freeze, for the clocks a time namespace stops there; 0
// (no correction) for the others.
int64_t freeze_reading(const image::ClockReadings& freeze, int clock_id) {
  if (clock_id == CLOCK_MONOTONIC) return freeze.monotonic_ns();
  if (clock_id == CLOCK_BOOTTIME) return freeze.boottime_ns();
  return 0;
}

}  // namespace

bool is_own_timer_signal(const image::ProcessCore& core, const std::string& siginfo) {
  return std::any_of(core.posix_timers().begin(), core.posix_timers().end(), [&](const auto& t) { return timer_sent(siginfo, t); });
}

Result<> arm_posix_timers(RemoteTask& task, const image::ProcessCore& core, const image::ClockReadings& freeze) {
  // Armed with the time they had left at the freeze: relative to the restored clocks, which
  // continue from the freeze under the default clock policy.
  for (const auto& timer : core.posix_timers()) {
    std::string what = "POSIX timer " + std::to_string(timer.id());
    int flags = 0;
    uint64_t value_ns = time_left_at_freeze(timer.value_ns(), timer.read_at_ns(), freeze_reading(freeze, timer.clock_id()));
    // A one-shot timer armed again since it sent its signal has made that signal stale (the kernel
    // drops it at delivery): it is armed with its time left, and the stale signal not queued.
    bool spent_or_periodic = timer.interval_ns() != 0 || timer.value_ns() == 0;
    if (spent_or_periodic && own_signal_pending(core, timer)) {
      ASSIGN_OR_RETURN_CTX(int64_t at, past_expiry(task, timer), what);
      flags = TIMER_ABSTIME;
      value_ns = static_cast<uint64_t>(at);
    }
    if (value_ns == 0) continue;
    kernel_abi::Itimerspec spec{static_cast<int64_t>(timer.interval_ns() / 1000000000), static_cast<int64_t>(timer.interval_ns() % 1000000000),
                                static_cast<int64_t>(value_ns / 1000000000), static_cast<int64_t>(value_ns % 1000000000)};
    task.reset_scratch();
    ASSIGN_OR_RETURN(uint64_t remote, task.put(&spec, sizeof spec));
    RETURN_IF_ERROR_CTX(task.call("timer_settime", SYS_timer_settime, {static_cast<uint64_t>(timer.id()), static_cast<uint64_t>(flags), remote, 0}),
                        what);
  }
  return {};
}

Result<> restore_itimers(RemoteTask& task, const image::ProcessCore& core, const image::ClockReadings& freeze) {
  for (const auto& timer : core.itimers()) {
    if (timer.value_us() == 0) continue;  // Disarmed, as in a fresh process.
    uint64_t value_us = timer.value_us();
    if (timer.which() == ITIMER_REAL)  // Counts on CLOCK_MONOTONIC; the other two count CPU time.
      value_us = (time_left_at_freeze(value_us * 1000, timer.read_at_ns(), freeze.monotonic_ns()) + 999) / 1000;
    kernel_abi::Itimerval value{static_cast<int64_t>(timer.interval_us() / 1000000), static_cast<int64_t>(timer.interval_us() % 1000000),
                                static_cast<int64_t>(value_us / 1000000), static_cast<int64_t>(value_us % 1000000)};
    task.reset_scratch();
    ASSIGN_OR_RETURN(uint64_t remote, task.put(&value, sizeof value));
    RETURN_IF_ERROR_CTX(task.call("setitimer", SYS_setitimer, {timer.which(), remote, 0}), "interval timer " + std::to_string(timer.which()));
  }
  return {};
}

}  // namespace cryo
