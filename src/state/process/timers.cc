#include "state/process/timers.h"

#include <signal.h>
#include <sys/syscall.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

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
  RemoteSyscalls& remote = task.syscalls();
  uint64_t scratch = task.scratch();
  const int per_area = static_cast<int>(task.scratch_size() / sizeof(kernel_abi::Itimerspec));
  for (int first = 0; first < core.posix_timers_size(); first += per_area) {
    int count = std::min(per_area, core.posix_timers_size() - first);
    for (int i = 0; i < count; ++i) {
      auto id = static_cast<uint64_t>(core.posix_timers(first + i).id());
      RETURN_IF_ERROR(remote.call("timer_gettime(" + std::to_string(id) + ")", SYS_timer_gettime,
                                  {id, scratch + static_cast<uint64_t>(i) * sizeof(kernel_abi::Itimerspec)}));
    }
    ASSIGN_OR_RETURN(std::string area, task.read_scratch());
    for (int i = 0; i < count; ++i) {
      kernel_abi::Itimerspec spec;
      std::memcpy(&spec, area.data() + static_cast<size_t>(i) * sizeof spec, sizeof spec);
      auto* timer = core.mutable_posix_timers(first + i);
      timer->set_value_ns(static_cast<uint64_t>(spec.value_sec) * 1000000000ull + static_cast<uint64_t>(spec.value_nsec));
      timer->set_interval_ns(static_cast<uint64_t>(spec.interval_sec) * 1000000000ull + static_cast<uint64_t>(spec.interval_nsec));
    }
  }
  return {};
}

Result<> ask_itimers(RemoteSyscalls& remote, uint64_t at) {
  for (int which = 0; which < 3; ++which)
    RETURN_IF_ERROR(remote.call("getitimer(" + std::to_string(which) + ")", SYS_getitimer,
                                {static_cast<uint64_t>(which), at + which * sizeof(kernel_abi::Itimerval)}));
  return {};
}

void read_itimers(const char* answer, image::ProcessCore& core) {
  for (int which = 0; which < 3; ++which) {
    kernel_abi::Itimerval it;
    std::memcpy(&it, answer + which * sizeof it, sizeof it);
    auto* timer = core.add_itimers();
    timer->set_which(static_cast<uint32_t>(which));
    timer->set_interval_us(static_cast<uint64_t>(it.interval_sec * 1000000 + it.interval_usec));
    timer->set_value_us(static_cast<uint64_t>(it.value_sec * 1000000 + it.value_usec));
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

}  // namespace cryo
