// Checkpoint/restore workload: timers that expire around the dump. Each signal they send must
// arrive as often after the restore as it would have without the dump: never lost, never twice.
//
//   cr_expiring_timers [--alarm-ms=N]
//
// Before READY it sets up:
//   alarm     ITIMER_REAL, one shot, due N ms after READY (default 200), SIGALRM handled and
//             counted. A dump while it is due (the tree is frozen, the timer is not) must bring
//             it back as exactly one SIGALRM.
//   oneshot   POSIX timer, CLOCK_MONOTONIC, one shot 1 ms, SIGRTMIN+2 (blocked): expired before
//             READY, so its signal waits pending and the timer is spent.
//   periodic  POSIX timer, CLOCK_MONOTONIC, every 10 ms, SIGRTMIN+3 (blocked): its one pending
//             signal gathers overruns. Its phase must stay: expiries every 10 ms from when it
//             was armed, on the tree's CLOCK_MONOTONIC, which the restore continues.
//   rearmed   POSIX timer, one shot 1 ms, SIGRTMIN+4 (blocked), armed again after it fired to
//             expire 3 s after the alarm (after any dump the tests make): the kernel drops the
//             stale pending signal at delivery, so it must come once, by its new time, not at
//             the unblock.
// On SIGUSR1 it waits until the alarm is due, expects one SIGALRM, then unblocks the RT signals:
// the oneshot's signal must come exactly once (SI_TIMER, its si_value) and the timer stay
// disarmed; the periodic one's must come at once and then again every 10 ms.
#define _GNU_SOURCE
#include <sys/time.h>

#include "cr_common.h"

enum { ONESHOT_VALUE = 0x0a1e, PERIODIC_VALUE = 0x9e71, REARMED_VALUE = 0x4ea4 };

static volatile sig_atomic_t alarms, oneshots, periodics, rearmeds, bad_info;

static void on_alarm(int signo) {
  (void)signo;
  ++alarms;
}

static void on_timer(int signo, siginfo_t* info, void* context) {
  (void)context;
  int expected = signo == SIGRTMIN + 2 ? ONESHOT_VALUE : signo == SIGRTMIN + 3 ? PERIODIC_VALUE : REARMED_VALUE;
  if (info->si_code != SI_TIMER || info->si_value.sival_int != expected) bad_info = 1;
  if (signo == SIGRTMIN + 2) ++oneshots;
  else if (signo == SIGRTMIN + 3) ++periodics;
  else ++rearmeds;
}

static void handle(int signo, int siginfo) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  if (siginfo) {
    action.sa_sigaction = on_timer;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
  } else {
    action.sa_handler = on_alarm;
    action.sa_flags = SA_RESTART;
  }
  sigemptyset(&action.sa_mask);
  SETUP_OR_DIE(sigaction(signo, &action, NULL) == 0, "sigaction(%d): %s\n", signo, strerror(errno));
}

// Arms `timer` to expire first at `first_ns` on CLOCK_MONOTONIC (absolute), then every `interval_ns`.
static timer_t make_timer(int signo, int value, int64_t first_ns, long interval_ns) {
  struct sigevent event;
  memset(&event, 0, sizeof event);
  event.sigev_notify = SIGEV_SIGNAL;
  event.sigev_signo = signo;
  event.sigev_value.sival_int = value;
  timer_t timer;
  SETUP_OR_DIE(timer_create(CLOCK_MONOTONIC, &event, &timer) == 0, "timer_create: %s\n", strerror(errno));
  struct itimerspec spec = {{0, interval_ns}, {first_ns / 1000000000, first_ns % 1000000000}};
  SETUP_OR_DIE(timer_settime(timer, TIMER_ABSTIME, &spec, NULL) == 0, "timer_settime: %s\n", strerror(errno));
  return timer;
}

int main(int argc, char** argv) {
  long alarm_ms = (long)arg_number(argc, argv, "alarm-ms", 200);
  install_check_handler();
  handle(SIGALRM, 0);
  handle(SIGRTMIN + 2, 1);
  handle(SIGRTMIN + 3, 1);
  handle(SIGRTMIN + 4, 1);
  sigset_t rt;
  sigemptyset(&rt);
  sigaddset(&rt, SIGRTMIN + 2);
  sigaddset(&rt, SIGRTMIN + 3);
  sigaddset(&rt, SIGRTMIN + 4);
  SETUP_OR_DIE(sigprocmask(SIG_BLOCK, &rt, NULL) == 0, "sigprocmask: %s\n", strerror(errno));
  int64_t now = clock_ns(CLOCK_MONOTONIC);
  timer_t oneshot = make_timer(SIGRTMIN + 2, ONESHOT_VALUE, now + 1000000, 0);
  timer_t periodic = make_timer(SIGRTMIN + 3, PERIODIC_VALUE, now + 10000000, 10000000);
  const int64_t phase = now % 10000000;
  timer_t rearmed = make_timer(SIGRTMIN + 4, REARMED_VALUE, now + 1000000, 0);
  sleep_ms(50);  // All three have fired by now; their signals wait, blocked.
  sigset_t pending;
  sigpending(&pending);
  SETUP_OR_DIE(sigismember(&pending, SIGRTMIN + 2) && sigismember(&pending, SIGRTMIN + 3) && sigismember(&pending, SIGRTMIN + 4),
               "the timers' signals are not pending\n");

  struct itimerval due = {{0, 0}, {alarm_ms / 1000, (alarm_ms % 1000) * 1000}};
  int64_t alarm_at = clock_ns(CLOCK_MONOTONIC) + alarm_ms * 1000000LL;
  struct itimerspec again = {{0, 0}, {(alarm_at + 3000000000LL) / 1000000000, (alarm_at + 3000000000LL) % 1000000000}};
  SETUP_OR_DIE(timer_settime(rearmed, TIMER_ABSTIME, &again, NULL) == 0, "timer_settime: %s\n", strerror(errno));
  SETUP_OR_DIE(setitimer(ITIMER_REAL, &due, NULL) == 0, "setitimer: %s\n", strerror(errno));
  say("READY alarm in %ld ms\n", alarm_ms);
  wait_for_check();

  // The restore keeps CLOCK_MONOTONIC going from the freeze, and the alarm is relative to it.
  while (clock_ns(CLOCK_MONOTONIC) < alarm_at + 100000000LL) sleep_ms(5);
  EXPECT_OR_FAIL(alarms == 1, "the alarm due %ld ms after READY fired %d times, not once\n", alarm_ms, (int)alarms);

  SETUP_OR_DIE(sigprocmask(SIG_UNBLOCK, &rt, NULL) == 0, "sigprocmask: %s\n", strerror(errno));
  // Unblocked signals that are pending are delivered before sigprocmask returns.
  EXPECT_OR_FAIL(oneshots == 1, "the spent one-shot timer's pending signal came %d times at the unblock, not once\n", (int)oneshots);
  EXPECT_OR_FAIL(periodics == 1, "the periodic timer's pending signal came %d times at the unblock, not once\n", (int)periodics);
  EXPECT_OR_FAIL(rearmeds == 0, "the re-armed timer's stale signal came at the unblock\n");
  // Each signal ends a sleep early: sleep by the clock.
  for (int64_t until = clock_ns(CLOCK_MONOTONIC) + 100000000LL; clock_ns(CLOCK_MONOTONIC) < until;) sleep_ms(5);
  EXPECT_OR_FAIL(oneshots == 1, "the spent one-shot timer fired again (%d signals)\n", (int)oneshots);
  EXPECT_OR_FAIL(periodics >= 4, "the periodic timer did not go on firing every 10 ms (%d signals in 100 ms)\n", (int)periodics);
  while (clock_ns(CLOCK_MONOTONIC) < alarm_at + 3100000000LL) sleep_ms(5);
  EXPECT_OR_FAIL(rearmeds == 1, "the re-armed timer sent %d signals by 100 ms after its new time, not one\n", (int)rearmeds);
  EXPECT_OR_FAIL(!bad_info, "a timer signal came without SI_TIMER or with another si_value\n");
  struct itimerspec left;
  SETUP_OR_DIE(timer_gettime(oneshot, &left) == 0, "timer_gettime: %s\n", strerror(errno));
  EXPECT_OR_FAIL(left.it_value.tv_sec == 0 && left.it_value.tv_nsec == 0, "the spent one-shot timer is armed again (%ld ns left)\n",
                 (long)left.it_value.tv_nsec);
  SETUP_OR_DIE(timer_gettime(periodic, &left) == 0, "timer_gettime: %s\n", strerror(errno));
  EXPECT_OR_FAIL(left.it_interval.tv_sec == 0 && left.it_interval.tv_nsec == 10000000, "the periodic timer's interval changed\n");
  // Its next expiry is the time left after now: read between two clock readings close enough
  // together that no preemption came in between.
  int64_t drift = 0;
  for (int attempt = 0; attempt < 50; ++attempt) {
    int64_t before = clock_ns(CLOCK_MONOTONIC);
    SETUP_OR_DIE(timer_gettime(periodic, &left) == 0, "timer_gettime: %s\n", strerror(errno));
    int64_t after = clock_ns(CLOCK_MONOTONIC);
    drift = (before + left.it_value.tv_nsec - phase) % 10000000;
    if (drift > 5000000) drift -= 10000000;
    if (after - before < 50000) break;
  }
  EXPECT_OR_FAIL(drift > -300000 && drift < 300000, "the periodic timer's expiries moved %lld us off their phase\n", (long long)drift / 1000);
  finish();
}
