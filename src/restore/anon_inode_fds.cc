#include "restore/anon_inode_fds.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/unique_fd.h"
#include "restore/fanotify_fds.h"
#include "restore/inotify_fds.h"

namespace cryo::restore {
namespace {

// Sets the pending expirations of a timerfd (CONFIG_CHECKPOINT_RESTORE; <linux/timerfd.h> names
// it, glibc's header does not).
constexpr unsigned long kTfdIocSetTicks = _IOW('T', 0, uint64_t);

timespec to_timespec(int64_t ns) {
  return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

// File status flags (O_NONBLOCK ...) live in the open file; fcntl(F_SETFL) ignores the access mode.
Result<> set_status_flags(int fd, uint32_t flags) {
  if (::fcntl(fd, F_SETFL, static_cast<int>(flags)) != 0) return fail_errno("fcntl(F_SETFL)");
  return {};
}

// The kernel keeps an absolute expiry; fdinfo showed the time left. A relative timer is re-armed with
// what was left at the dump: under the default clock policy the tree's CLOCK_MONOTONIC and
// CLOCK_BOOTTIME continue from the dump, so it expires when it would have. A TFD_TIMER_ABSTIME timer
// is re-armed at its absolute expiry, converted to the caller's clock: it fires at once if its time
// passed (CLOCK_REALTIME is never frozen, and --clock elapsed moves the others). A periodic timer
// that expired and was not read yet shows nothing left, like a disarmed one, but has ticks: its
// phase within the period is lost, and it is re-armed one period from now. Pending expirations are set back with TFD_IOC_SET_TICKS.
Result<UniqueFd> create_timerfd(const image::TimerfdState& state, const ClockOffsets& tree_minus_caller) {
  UniqueFd fd(::timerfd_create(state.clockid(), TFD_NONBLOCK));
  if (!fd.valid()) return fail_errno("timerfd_create(" + std::to_string(state.clockid()) + ")");
  itimerspec spec{};
  spec.it_interval = to_timespec(static_cast<int64_t>(state.interval_ns()));
  int flags = 0;
  if ((state.settime_flags() & TFD_TIMER_ABSTIME) && state.remaining_ns() != 0) {
    int64_t expiry = state.expiry_ns();
    if (state.clockid() == CLOCK_MONOTONIC) expiry -= tree_minus_caller.monotonic_ns;
    if (state.clockid() == CLOCK_BOOTTIME || state.clockid() == CLOCK_BOOTTIME_ALARM) expiry -= tree_minus_caller.boottime_ns;
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
  return fd;
}

Result<UniqueFd> create_signalfd(const image::SignalfdState& state) {
  // The raw call takes the kernel's 64-bit mask, which is what fdinfo showed.
  uint64_t mask = state.mask();
  UniqueFd fd(static_cast<int>(::syscall(SYS_signalfd4, -1, &mask, sizeof mask, SFD_NONBLOCK)));
  if (!fd.valid()) return fail_errno("signalfd4");
  return fd;
}

}  // namespace

bool is_anon_inode_kind(image::FdKind kind) {
  return kind == image::FD_TIMERFD || kind == image::FD_SIGNALFD || kind == image::FD_INOTIFY ||
         kind == image::FD_FANOTIFY;
}

Result<int> create_anon_inode_fd(const image::Fd& fd, const ClockOffsets& tree_minus_caller) {
  UniqueFd made;
  switch (fd.kind()) {
    case image::FD_TIMERFD: {
      ASSIGN_OR_RETURN(made, create_timerfd(fd.timerfd(), tree_minus_caller));
      break;
    }
    case image::FD_SIGNALFD: {
      ASSIGN_OR_RETURN(made, create_signalfd(fd.signalfd()));
      break;
    }
    case image::FD_INOTIFY: {
      ASSIGN_OR_RETURN(made, create_inotify(fd.inotify()));
      break;
    }
    case image::FD_FANOTIFY: {
      ASSIGN_OR_RETURN(made, create_fanotify(fd.fanotify()));
      break;
    }
    default: return fail("fd kind " + std::to_string(static_cast<int>(fd.kind())) + " is not an anonymous inode");
  }
  RETURN_IF_ERROR(set_status_flags(made.get(), fd.flags()));
  return made.release();
}

Result<int> create_epoll_fd(const image::Fd& fd) {
  UniqueFd made(::epoll_create1(0));
  if (!made.valid()) return fail_errno("epoll_create1");
  RETURN_IF_ERROR(set_status_flags(made.get(), fd.flags()));
  return made.release();
}

Result<> add_epoll_watches(const image::Fd& fd) {
  for (const auto& target : fd.epoll().targets()) {
    epoll_event event{};
    // EPOLLERR and EPOLLHUP, which the kernel adds to every watch, are accepted back.
    event.events = target.events();
    event.data.u64 = target.data();
    if (::epoll_ctl(fd.fd(), EPOLL_CTL_ADD, target.fd(), &event) != 0)
      return fail_errno("epoll_ctl(EPOLL_CTL_ADD, fd " + std::to_string(target.fd()) + ")");
  }
  return {};
}

}  // namespace cryo::restore
