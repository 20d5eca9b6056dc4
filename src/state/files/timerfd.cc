#include "state/files/timerfd.h"

#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>

#include <cstdint>

#include "base/unique_fd.h"
#include "state/process/timers.h"

namespace cryo::state {
namespace {

// Far above any real timer (the kernel's ktime_t ends after 292 years), and safe to add to a clock.
constexpr uint64_t kMaxTimerNs = uint64_t{1} << 62;

// Sets the pending expirations of a timerfd (CONFIG_CHECKPOINT_RESTORE; <linux/timerfd.h> names
// it, glibc's header does not).
constexpr unsigned long kTfdIocSetTicks = _IOW('T', 0, uint64_t);

// The alarm clocks run like their plain forms; only the wake-up differs.
clockid_t base_clock(int clockid) {
  if (clockid == CLOCK_REALTIME_ALARM) return CLOCK_REALTIME;
  if (clockid == CLOCK_BOOTTIME_ALARM) return CLOCK_BOOTTIME;
  return clockid;
}

// fdinfo shows the time left to the next expiry even for a TFD_TIMER_ABSTIME timer; restore wants
// the absolute expiry back, on the clock as the tree sees it. The dumper reads the kernel's clock
// (its own time namespace's offsets taken out), so the tree's time namespace offset is added for
// CLOCK_MONOTONIC and CLOCK_BOOTTIME (CLOCK_REALTIME is never virtualized).
Result<int64_t> absolute_expiry(pid_t pid, int clockid, uint64_t remaining_ns) {
  clockid_t clock = base_clock(clockid);
  int64_t offset = 0;
  ClockOffsets own;
  if (clock == CLOCK_MONOTONIC || clock == CLOCK_BOOTTIME) {
    ASSIGN_OR_RETURN(ClockOffsets offsets, read_timens_offsets(pid));
    offset = clock == CLOCK_MONOTONIC ? offsets.monotonic_ns : offsets.boottime_ns;
    ASSIGN_OR_RETURN(own, own_timens_offsets());
  }
  return kernel_clock_ns(clock, own) + offset + static_cast<int64_t>(remaining_ns);
}

bool is_timer_clock(int clockid) {
  return clockid == CLOCK_REALTIME || clockid == CLOCK_MONOTONIC || clockid == CLOCK_BOOTTIME ||
         clockid == CLOCK_REALTIME_ALARM || clockid == CLOCK_BOOTTIME_ALARM;
}

// The time a relative timer on CLOCK_MONOTONIC or CLOCK_BOOTTIME had left at the freeze, from the
// time left read later: the tree's clocks stop at the freeze and continue from there after a
// restore, its timers do not stop. (The clock is read just after fdinfo: microseconds too much.)
// One that expired in between shows nothing left and stays so; a periodic one stops at its expiry
// until read, so one with time left did not expire in between.
Result<uint64_t> remaining_at_freeze(int clockid, uint64_t remaining_ns, const image::ClockReadings& freeze) {
  clockid_t clock = base_clock(clockid);
  if (clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME) return remaining_ns;
  ASSIGN_OR_RETURN(ClockOffsets own, own_timens_offsets());
  int64_t at_freeze = clock == CLOCK_MONOTONIC ? freeze.monotonic_ns() : freeze.boottime_ns();
  return time_left_at_freeze(remaining_ns, kernel_clock_ns(clock, own), at_freeze);
}

timespec to_timespec(int64_t ns) {
  return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

}  // namespace

Result<> collect_timerfd(const FdCollect& in, image::Fd& out) {
  if (!in.info.timerfd) return fail("fdinfo shows no timer state");
  const TimerfdInfo& t = *in.info.timerfd;
  image::TimerfdState* state = out.mutable_timerfd();
  state->set_clockid(t.clockid);
  state->set_settime_flags(t.settime_flags);
  state->set_ticks(t.ticks);
  state->set_remaining_ns(t.value_ns);
  state->set_interval_ns(t.interval_ns);
  if ((t.settime_flags & TFD_TIMER_ABSTIME) && t.value_ns != 0) {
    ASSIGN_OR_RETURN(int64_t expiry, absolute_expiry(in.pid, t.clockid, t.value_ns));
    state->set_expiry_ns(expiry);
  } else if (in.freeze) {
    ASSIGN_OR_RETURN(uint64_t remaining, remaining_at_freeze(t.clockid, t.value_ns, *in.freeze));
    state->set_remaining_ns(remaining);
  }
  return {};
}

void validate_timerfd(const image::Fd& fd, const std::set<int>&, const std::string& name, std::vector<std::string>* problems) {
  const image::TimerfdState& t = fd.timerfd();
  if (!is_timer_clock(t.clockid())) problems->push_back(name + ": timerfd clock " + std::to_string(t.clockid()) + " is not one a timerfd can use");
  if (t.settime_flags() & ~static_cast<uint32_t>(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET))
    problems->push_back(name + ": timerfd settime flags " + std::to_string(t.settime_flags()) + " are unknown");
  bool realtime = t.clockid() == CLOCK_REALTIME || t.clockid() == CLOCK_REALTIME_ALARM;
  if ((t.settime_flags() & TFD_TIMER_CANCEL_ON_SET) && (!(t.settime_flags() & TFD_TIMER_ABSTIME) || !realtime))
    problems->push_back(name + ": TFD_TIMER_CANCEL_ON_SET needs an absolute CLOCK_REALTIME timer");
  if (t.remaining_ns() > kMaxTimerNs || t.interval_ns() > kMaxTimerNs)
    problems->push_back(name + ": timerfd times are out of range");
  if ((t.settime_flags() & TFD_TIMER_ABSTIME) && t.remaining_ns() != 0 &&
      (t.expiry_ns() <= 0 || static_cast<uint64_t>(t.expiry_ns()) > kMaxTimerNs))
    problems->push_back(name + ": absolute timerfd expiry " + std::to_string(t.expiry_ns()) + " is out of range");
}

bool same_timerfd(const image::Fd& a, const image::Fd& b) {
  const auto& x = a.timerfd();
  const auto& y = b.timerfd();
  return x.clockid() == y.clockid() && x.settime_flags() == y.settime_flags() && x.interval_ns() == y.interval_ns();
}

// The kernel keeps an absolute expiry; fdinfo showed the time left. A relative timer is re-armed with
// what was left at the dump: under the default clock policy the tree's CLOCK_MONOTONIC and
// CLOCK_BOOTTIME continue from the dump, so it expires when it would have. A TFD_TIMER_ABSTIME timer
// is re-armed at its absolute expiry, converted to the caller's clock: it fires at once if its time
// passed (CLOCK_REALTIME is never frozen, and --clock elapsed moves the others). A periodic timer
// that expired and was not read yet shows nothing left, like a disarmed one, but has ticks: its
// phase within the period is lost, and it is re-armed one period from now. Pending expirations are set back with TFD_IOC_SET_TICKS.
Result<int> install_timerfd(const image::Fd& image_fd, const FdInstall& at) {
  const image::TimerfdState& state = image_fd.timerfd();
  UniqueFd fd(::timerfd_create(state.clockid(), TFD_NONBLOCK));
  if (!fd.valid()) return fail_errno("timerfd_create(" + std::to_string(state.clockid()) + ")");
  itimerspec spec{};
  spec.it_interval = to_timespec(static_cast<int64_t>(state.interval_ns()));
  int flags = 0;
  if ((state.settime_flags() & TFD_TIMER_ABSTIME) && state.remaining_ns() != 0) {
    int64_t expiry = state.expiry_ns();
    if (state.clockid() == CLOCK_MONOTONIC) expiry -= at.tree_minus_caller.monotonic_ns;
    if (state.clockid() == CLOCK_BOOTTIME || state.clockid() == CLOCK_BOOTTIME_ALARM) expiry -= at.tree_minus_caller.boottime_ns;
    spec.it_value = to_timespec(expiry);
    flags = static_cast<int>(state.settime_flags());
  } else if (state.remaining_ns() != 0) {
    spec.it_value = to_timespec(static_cast<int64_t>(state.remaining_ns()));
  } else if (state.ticks() != 0) {
    // Expired and not read: a periodic timer runs on (a one-shot one stays disarmed).
    spec.it_value = spec.it_interval;
  }
  if (::timerfd_settime(fd.get(), flags, &spec, nullptr) != 0) return fail_errno("timerfd_settime");
  uint64_t ticks = state.ticks();
  if (ticks != 0 && ::ioctl(fd.get(), kTfdIocSetTicks, &ticks) != 0)
    return fail(errno_error("ioctl(TFD_IOC_SET_TICKS, " + std::to_string(ticks) + ")")
                    .with_hint("the kernel needs CONFIG_CHECKPOINT_RESTORE to restore a timer's pending expirations"));
  return fd.release();
}

}  // namespace cryo::state
