// Checkpoint/restore workload: timerfds keep their clock, interval, time left and pending expirations.
//
//   cr_timerfd
//
//   fd 10  CLOCK_MONOTONIC, relative, first expiry 4 s after setup, then every 250 ms, O_NONBLOCK
//   fd 11  CLOCK_MONOTONIC, one-shot 1 ms, expired before the dump and never read
//   fd 12  CLOCK_REALTIME, TFD_TIMER_ABSTIME at setup + 60 s (never fires during the test)
//   fd 13  CLOCK_BOOTTIME, disarmed, interval 1 s
//   fd 14  CLOCK_MONOTONIC, TFD_TIMER_ABSTIME at setup + 30 s; fd 15 is dup(14), so restore's
//          helper, outside the tree's time namespace, creates it and must convert the expiry
//   fd 16  CLOCK_BOOTTIME, TFD_TIMER_ABSTIME at setup + 40 s, created by the process itself
// On SIGUSR1: fd 10 reports its 250 ms interval and fires within the window its first expiry
// allows on the tree's CLOCK_MONOTONIC, which restore continues from the dump (the default clock
// policy); fd 11 has its one expiration to read; fd 12 is still absolute (its fdinfo says so) with
// its time left matching the wall clock; fd 13 is still disarmed with its interval; fds 14 and 16
// have the time left that their expiry on the tree's clocks leaves.
#include <fcntl.h>
#include <poll.h>
#include <sys/timerfd.h>

#include "cr_common.h"

enum { FD_PERIODIC = 10, FD_EXPIRED = 11, FD_ABSOLUTE = 12, FD_DISARMED = 13, FD_MONO_ABS = 14, FD_MONO_ABS_DUP = 15, FD_BOOT_ABS = 16 };
static const int64_t kFirstNs = 4000000000LL, kIntervalNs = 250000000LL, kAbsoluteNs = 60000000000LL;
// How late the first expiry may come: restore arms the timer before it finishes and releases the tree.
static const int64_t kLateNs = 700000000LL, kEarlyNs = 100000000LL;

static struct timespec ts(int64_t ns) { return (struct timespec){ns / 1000000000LL, ns % 1000000000LL}; }
static int64_t ns_of(struct timespec t) { return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec; }

static void make_timer(int number, clockid_t clock, int create_flags, int settime_flags, int64_t value, int64_t interval) {
  int fd = timerfd_create(clock, create_flags);
  SETUP_OR_DIE(fd >= 0 && dup2(fd, number) == number, "timerfd_create: %s\n", strerror(errno));
  close(fd);
  struct itimerspec spec = {ts(interval), ts(value)};
  SETUP_OR_DIE(timerfd_settime(number, settime_flags, &spec, NULL) == 0, "timerfd_settime %d: %s\n", number, strerror(errno));
}

static void fdinfo_of(int fd, char* text, size_t size) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  memset(text, 0, size);
  int info = open(path, O_RDONLY);
  if (info < 0) return;
  ssize_t got = read(info, text, size - 1);
  (void)got;
  close(info);
}

int main(void) {
  install_check_handler();
  int64_t first_expiry = clock_ns(CLOCK_MONOTONIC) + kFirstNs;
  make_timer(FD_PERIODIC, CLOCK_MONOTONIC, TFD_NONBLOCK, 0, kFirstNs, kIntervalNs);
  make_timer(FD_EXPIRED, CLOCK_MONOTONIC, 0, 0, 1000000, 0);
  int64_t absolute_expiry = clock_ns(CLOCK_REALTIME) + kAbsoluteNs;
  make_timer(FD_ABSOLUTE, CLOCK_REALTIME, 0, TFD_TIMER_ABSTIME, absolute_expiry, 0);
  make_timer(FD_DISARMED, CLOCK_BOOTTIME, 0, 0, 0, 1000000000LL);
  int64_t mono_expiry = clock_ns(CLOCK_MONOTONIC) + 30000000000LL;
  make_timer(FD_MONO_ABS, CLOCK_MONOTONIC, 0, TFD_TIMER_ABSTIME, mono_expiry, 0);
  SETUP_OR_DIE(dup2(FD_MONO_ABS, FD_MONO_ABS_DUP) == FD_MONO_ABS_DUP, "dup2: %s\n", strerror(errno));
  int64_t boot_expiry = clock_ns(CLOCK_BOOTTIME) + 40000000000LL;
  make_timer(FD_BOOT_ABS, CLOCK_BOOTTIME, 0, TFD_TIMER_ABSTIME, boot_expiry, 0);
  sleep_ms(20);
  say("READY timerfd\n");
  wait_for_check();

  struct itimerspec now;
  EXPECT_OR_FAIL(timerfd_gettime(FD_PERIODIC, &now) == 0 && ns_of(now.it_interval) == kIntervalNs,
                 "fd %d: interval is %lld ns, expected %lld\n", FD_PERIODIC, (long long)ns_of(now.it_interval), (long long)kIntervalNs);
  EXPECT_OR_FAIL(fcntl(FD_PERIODIC, F_GETFL) & O_NONBLOCK, "fd %d lost O_NONBLOCK\n", FD_PERIODIC);
  int64_t checked_at = clock_ns(CLOCK_MONOTONIC);
  struct pollfd waiting = {FD_PERIODIC, POLLIN, 0};
  int ready = poll(&waiting, 1, 8000);
  int64_t fired_at = clock_ns(CLOCK_MONOTONIC);
  uint64_t ticks = 0;
  EXPECT_OR_FAIL(ready == 1 && read(FD_PERIODIC, &ticks, sizeof ticks) == sizeof ticks, "fd %d never fired\n", FD_PERIODIC);
  if (checked_at < first_expiry - kEarlyNs) {
    // The check came before the expiry: the moment it fired is the expiry itself.
    EXPECT_OR_FAIL(fired_at >= first_expiry - kEarlyNs && fired_at <= first_expiry + kLateNs,
                   "fd %d fired %lld ms from its expected expiry\n", FD_PERIODIC, (long long)((fired_at - first_expiry) / 1000000));
    EXPECT_OR_FAIL(ticks == 1, "fd %d: %llu expirations at its first expiry\n", FD_PERIODIC, (unsigned long long)ticks);
  } else {
    say("note: the check came %lld ms after the first expiry\n", (long long)((checked_at - first_expiry) / 1000000));
    int64_t expected = 1 + (fired_at - first_expiry) / kIntervalNs;
    EXPECT_OR_FAIL((int64_t)ticks >= expected - 3 && (int64_t)ticks <= expected + 1, "fd %d: %llu expirations, expected about %lld\n",
                   FD_PERIODIC, (unsigned long long)ticks, (long long)expected);
  }

  ticks = 0;
  struct pollfd expired = {FD_EXPIRED, POLLIN, 0};
  EXPECT_OR_FAIL(poll(&expired, 1, 0) == 1 && read(FD_EXPIRED, &ticks, sizeof ticks) == sizeof ticks && ticks == 1,
                 "fd %d: the expiration pending at the dump is gone (%llu)\n", FD_EXPIRED, (unsigned long long)ticks);

  char text[512];
  fdinfo_of(FD_ABSOLUTE, text, sizeof text);
  EXPECT_OR_FAIL(strstr(text, "clockid: 0") && strstr(text, "settime flags: 01"), "fd %d is no longer an absolute CLOCK_REALTIME timer:\n%s",
                 FD_ABSOLUTE, text);
  EXPECT_OR_FAIL(timerfd_gettime(FD_ABSOLUTE, &now) == 0, "timerfd_gettime: %s\n", strerror(errno));
  int64_t left = ns_of(now.it_value), want = absolute_expiry - clock_ns(CLOCK_REALTIME);
  EXPECT_OR_FAIL(left > want - 200000000LL && left < want + 200000000LL, "fd %d: %lld ms left, expected %lld\n", FD_ABSOLUTE,
                 (long long)(left / 1000000), (long long)(want / 1000000));

  EXPECT_OR_FAIL(timerfd_gettime(FD_DISARMED, &now) == 0 && ns_of(now.it_value) == 0 && ns_of(now.it_interval) == 1000000000LL,
                 "fd %d: armed or lost its interval (%lld, %lld)\n", FD_DISARMED, (long long)ns_of(now.it_value), (long long)ns_of(now.it_interval));
  fdinfo_of(FD_DISARMED, text, sizeof text);
  EXPECT_OR_FAIL(strstr(text, "clockid: 7") != NULL, "fd %d is no longer a CLOCK_BOOTTIME timer:\n%s", FD_DISARMED, text);
  const struct {
    int fd;
    clockid_t clock;
    int64_t expiry;
  } absolute[] = {{FD_MONO_ABS, CLOCK_MONOTONIC, mono_expiry}, {FD_MONO_ABS_DUP, CLOCK_MONOTONIC, mono_expiry},
                  {FD_BOOT_ABS, CLOCK_BOOTTIME, boot_expiry}};
  for (size_t i = 0; i < sizeof absolute / sizeof absolute[0]; ++i) {
    EXPECT_OR_FAIL(timerfd_gettime(absolute[i].fd, &now) == 0, "timerfd_gettime %d: %s\n", absolute[i].fd, strerror(errno));
    left = ns_of(now.it_value);
    want = absolute[i].expiry - clock_ns(absolute[i].clock);
    EXPECT_OR_FAIL(left > want - 200000000LL && left < want + 200000000LL, "fd %d: %lld ms left, expected %lld\n", absolute[i].fd,
                   (long long)(left / 1000000), (long long)(want / 1000000));
    fdinfo_of(absolute[i].fd, text, sizeof text);
    EXPECT_OR_FAIL(strstr(text, "settime flags: 01") != NULL, "fd %d is no longer absolute:\n%s", absolute[i].fd, text);
  }
  finish();
}
