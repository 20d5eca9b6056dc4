// Checkpoint/restore workload: POSIX timers and an interval timer keep their IDs, clocks,
// notifications and the time they had left.
//
//   cr_timers
//
// It creates, before READY:
//   ticker   CLOCK_MONOTONIC, SIGEV_SIGNAL SIGUSR2 with si_value 0x5eed, every 20 ms
//   waiter   CLOCK_BOOTTIME, SIGEV_NONE, armed for 1000 s (only its time left is read)
//   idle     CLOCK_REALTIME, created and never armed
//   thread   CLOCK_MONOTONIC, SIGEV_THREAD_ID SIGRTMIN+1 to a worker thread, every 20 ms
//   ITIMER_REAL, 900 s
// On SIGUSR1 it checks that each timer_t still names the same timer, that the waiter's and the
// itimer's time left went down by the time CLOCK_BOOTTIME/CLOCK_MONOTONIC went on (the restore
// keeps the clocks running from the freeze), the idle one is still disarmed, and that the ticker and
// the thread timer fire again, with the ticker's si_value, the thread timer's signals reaching the
// worker thread only.
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/time.h>

#include "cr_common.h"

static timer_t ticker, waiter, idle_timer, thread_timer;
static volatile sig_atomic_t ticks, bad_value, thread_ticks, wrong_thread;
static pid_t worker_tid;

static void on_tick(int signo, siginfo_t* info, void* context) {
  (void)signo;
  (void)context;
  ++ticks;
  if (info->si_code != SI_TIMER || info->si_value.sival_int != 0x5eed) bad_value = 1;
}

static void on_thread_tick(int signo, siginfo_t* info, void* context) {
  (void)signo;
  (void)info;
  (void)context;
  ++thread_ticks;
  if ((pid_t)syscall(SYS_gettid) != worker_tid) wrong_thread = 1;
}

static void* run_worker(void* arg) {
  (void)arg;
  // The main thread blocks the thread timer's signal; the worker, which inherited that, takes it.
  sigset_t rt;
  sigemptyset(&rt);
  sigaddset(&rt, SIGRTMIN + 1);
  pthread_sigmask(SIG_UNBLOCK, &rt, NULL);
  worker_tid = (pid_t)syscall(SYS_gettid);
  for (;;) pause();
  return NULL;
}

static int64_t left_ns(timer_t timer) {
  struct itimerspec spec;
  if (timer_gettime(timer, &spec) != 0) return -1;
  return (int64_t)spec.it_value.tv_sec * 1000000000LL + spec.it_value.tv_nsec;
}

static int64_t itimer_left_ns(void) {
  struct itimerval value;
  getitimer(ITIMER_REAL, &value);
  return (int64_t)value.it_value.tv_sec * 1000000000LL + value.it_value.tv_usec * 1000LL;
}

static void on_alarm(int signo) { (void)signo; }

int main(void) {
  install_check_handler();
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_tick;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  SETUP_OR_DIE(sigaction(SIGUSR2, &action, NULL) == 0, "sigaction: %s\n", strerror(errno));
  action.sa_sigaction = on_thread_tick;
  SETUP_OR_DIE(sigaction(SIGRTMIN + 1, &action, NULL) == 0, "sigaction: %s\n", strerror(errno));
  signal(SIGALRM, on_alarm);
  // Only the worker takes the thread timer's signal.
  sigset_t rt;
  sigemptyset(&rt);
  sigaddset(&rt, SIGRTMIN + 1);
  pthread_sigmask(SIG_BLOCK, &rt, NULL);
  pthread_t worker;
  SETUP_OR_DIE(pthread_create(&worker, NULL, run_worker, NULL) == 0, "pthread_create\n");
  while (!worker_tid) sleep_ms(1);

  struct sigevent event;
  memset(&event, 0, sizeof event);
  event.sigev_notify = SIGEV_SIGNAL;
  event.sigev_signo = SIGUSR2;
  event.sigev_value.sival_int = 0x5eed;
  SETUP_OR_DIE(timer_create(CLOCK_MONOTONIC, &event, &ticker) == 0, "timer_create(ticker): %s\n", strerror(errno));
  memset(&event, 0, sizeof event);
  event.sigev_notify = SIGEV_NONE;
  SETUP_OR_DIE(timer_create(CLOCK_BOOTTIME, &event, &waiter) == 0, "timer_create(waiter): %s\n", strerror(errno));
  SETUP_OR_DIE(timer_create(CLOCK_REALTIME, &event, &idle_timer) == 0, "timer_create(idle): %s\n", strerror(errno));
  memset(&event, 0, sizeof event);
  event.sigev_notify = SIGEV_THREAD_ID;
  event.sigev_signo = SIGRTMIN + 1;
  event._sigev_un._tid = worker_tid;
  SETUP_OR_DIE(timer_create(CLOCK_MONOTONIC, &event, &thread_timer) == 0, "timer_create(thread): %s\n", strerror(errno));

  struct itimerspec every_20ms = {{0, 20000000}, {0, 20000000}};
  struct itimerspec in_1000s = {{0, 0}, {1000, 0}};
  SETUP_OR_DIE(timer_settime(ticker, 0, &every_20ms, NULL) == 0, "timer_settime: %s\n", strerror(errno));
  SETUP_OR_DIE(timer_settime(waiter, 0, &in_1000s, NULL) == 0, "timer_settime: %s\n", strerror(errno));
  SETUP_OR_DIE(timer_settime(thread_timer, 0, &every_20ms, NULL) == 0, "timer_settime: %s\n", strerror(errno));
  struct itimerval in_900s = {{0, 0}, {900, 0}};
  SETUP_OR_DIE(setitimer(ITIMER_REAL, &in_900s, NULL) == 0, "setitimer: %s\n", strerror(errno));

  int64_t boot0 = clock_ns(CLOCK_BOOTTIME), mono0 = clock_ns(CLOCK_MONOTONIC);
  int64_t waiter0 = left_ns(waiter), itimer0 = itimer_left_ns();
  say("READY pid=%d timers=%p,%p,%p,%p\n", (int)getpid(), ticker, waiter, idle_timer, thread_timer);
  wait_for_check();

  int64_t boot_spent = clock_ns(CLOCK_BOOTTIME) - boot0, mono_spent = clock_ns(CLOCK_MONOTONIC) - mono0;
  int64_t waiter1 = left_ns(waiter), itimer1 = itimer_left_ns();
  EXPECT_OR_FAIL(waiter1 > 0, "waiter: timer_gettime gave %lld: %s\n", (long long)waiter1, strerror(errno));
  int64_t waiter_drift = (waiter0 - waiter1) - boot_spent;
  EXPECT_OR_FAIL(waiter_drift > -300000000LL && waiter_drift < 300000000LL,
                 "waiter: its time left went down %lld ms while CLOCK_BOOTTIME went on %lld ms\n",
                 (long long)((waiter0 - waiter1) / 1000000), (long long)(boot_spent / 1000000));
  int64_t itimer_drift = (itimer0 - itimer1) - mono_spent;
  EXPECT_OR_FAIL(itimer1 > 0 && itimer_drift > -300000000LL && itimer_drift < 300000000LL,
                 "ITIMER_REAL: its time left went down %lld ms while CLOCK_MONOTONIC went on %lld ms\n",
                 (long long)((itimer0 - itimer1) / 1000000), (long long)(mono_spent / 1000000));
  EXPECT_OR_FAIL(left_ns(idle_timer) == 0, "idle: it is armed (or gone: %s)\n", strerror(errno));

  sig_atomic_t ticks_before = ticks, thread_before = thread_ticks;
  // The ticker interrupts every sleep (nanosleep is never restarted), so wait by the clock.
  int64_t until = clock_ns(CLOCK_MONOTONIC) + 400000000LL;
  while (clock_ns(CLOCK_MONOTONIC) < until) sleep_ms(10);
  EXPECT_OR_FAIL(ticks > ticks_before + 5, "ticker: fired %d times in 400 ms after the check began\n", (int)(ticks - ticks_before));
  EXPECT_OR_FAIL(thread_ticks > thread_before + 5, "thread timer: fired %d times in 400 ms\n", (int)(thread_ticks - thread_before));
  EXPECT_OR_FAIL(!bad_value, "ticker: a signal came without SI_TIMER and si_value 0x5eed\n");
  EXPECT_OR_FAIL(!wrong_thread, "thread timer: its signal reached another thread than the worker\n");
  finish();
}
