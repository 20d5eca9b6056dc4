// Checkpoint/restore workload: a multithreaded process whose threads are caught in different
// blocking calls, each with state of its own.
//
//   cr_threads
//
// The main thread starts five workers and reports READY once each is parked:
//   cond     waits on a condition variable (futex wait, ERESTARTSYS) under a mutex
//   sleeper  loops in nanosleep(50 ms) counting wake-ups (ERESTART_RESTARTBLOCK)
//   poller   poll()s a pipe with no timeout (ERESTARTNOHAND)
//   reader   read()s another pipe (ERESTARTSYS)
//   pending  has SIGUSR2 blocked and one SIGUSR2 sent to it alone (thread-directed, pending)
// Every worker keeps its TID, a __thread value, its own blocked mask and (the sleeper) a
// sigaltstack. On SIGUSR1 the main thread wakes each one (broadcast, pipe writes) and joins them:
// each checks that gettid() is the TID it had, its TLS and masks are as they were, rseq still
// tracks its CPU, and its blocking call returned what it should have. pthread_join itself proves
// clear_child_tid was restored (the kernel's futex wake at thread exit releases the join).
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/rseq.h>

#include "cr_common.h"

enum { WORKERS = 5, COND = 0, SLEEPER = 1, POLLER = 2, READER = 3, PENDING = 4 };
static const char* const kNames[WORKERS] = {"cond", "sleeper", "poller", "reader", "pending"};

struct worker {
  pthread_t handle;
  int index;
  pid_t tid;               // gettid() when it started.
  volatile int parked;     // Set just before it blocks.
  uint64_t blocked_mask;   // Its own mask: a different signal blocked in each.
};

static struct worker workers[WORKERS];
static __thread uint64_t thread_secret;  // TLS, through the fs base the restore must bring back.
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static volatile int released;            // Guarded by lock; read by the sleeper.
static int poll_pipe[2], read_pipe[2];
static char altstack[65536];

static pid_t gettid_now(void) { return (pid_t)syscall(SYS_gettid); }

static uint64_t blocked_now(void) {
  sigset_t set;
  pthread_sigmask(SIG_SETMASK, NULL, &set);
  uint64_t mask = 0;
  for (int sig = 1; sig <= 64; ++sig)
    if (sigismember(&set, sig)) mask |= 1ull << (sig - 1);
  return mask;
}

static void check_common(struct worker* w) {
  const char* name = kNames[w->index];
  EXPECT_OR_FAIL(gettid_now() == w->tid, "%s: gettid() is %d, was %d\n", name, (int)gettid_now(), (int)w->tid);
  EXPECT_OR_FAIL(thread_secret == 0x5ec0000000000000ull + (uint64_t)w->index, "%s: its __thread value is %#llx\n", name,
                 (unsigned long long)thread_secret);
  EXPECT_OR_FAIL(blocked_now() == w->blocked_mask, "%s: blocked mask is %#llx, was %#llx\n", name,
                 (unsigned long long)blocked_now(), (unsigned long long)w->blocked_mask);
  // glibc registered rseq for this thread; the restore must register it again, or cpu_id goes stale.
  // (sched_getcpu() proves nothing: glibc reads it from this same area.) Registering the same area
  // again is EBUSY exactly when it is registered, with this length and signature; a thread that is
  // not registered would be registered by the call, so that is a failure.
  struct rseq* area = (struct rseq*)((char*)__builtin_thread_pointer() + __rseq_offset);
  if (__rseq_size > 0) {
    const uint32_t glibc_rseq_len = 32, rseq_sig = 0x53053053;  // glibc 2.36 on x86_64
    long again = syscall(SYS_rseq, area, glibc_rseq_len, 0, rseq_sig);
    EXPECT_OR_FAIL(again == -1 && errno == EBUSY, "%s: rseq is not registered at %p (registering it again: %ld, %s)\n", name,
                   (void*)area, again, strerror(errno));
    // Read between two getcpu calls that agree: the thread did not move meanwhile.
    unsigned cpu = 0, cpu_after = 0;
    EXPECT_OR_FAIL(syscall(SYS_getcpu, &cpu, NULL, NULL) == 0, "%s: getcpu: %s\n", name, strerror(errno));
    unsigned in_area = area->cpu_id;
    syscall(SYS_getcpu, &cpu_after, NULL, NULL);
    EXPECT_OR_FAIL(cpu != cpu_after || in_area == cpu, "%s: rseq cpu_id is %u but getcpu says CPU %u\n", name,
                   in_area, cpu);
  }
}

static void* run_worker(void* arg) {
  struct worker* w = arg;
  w->tid = gettid_now();
  thread_secret = 0x5ec0000000000000ull + (uint64_t)w->index;
  // SIGUSR1 is the main thread's; each worker also blocks a signal of its own (SIGRTMIN + index).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGRTMIN + w->index);
  if (w->index == PENDING) sigaddset(&set, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  w->blocked_mask = blocked_now();
  const char* name = kNames[w->index];

  switch (w->index) {
    case COND: {
      pthread_mutex_lock(&lock);
      w->parked = 1;
      while (!released) pthread_cond_wait(&wake, &lock);
      pthread_mutex_unlock(&lock);
      break;
    }
    case SLEEPER: {
      stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
      SETUP_OR_DIE(sigaltstack(&ss, NULL) == 0, "sigaltstack: %s\n", strerror(errno));
      w->parked = 1;
      long naps = 0;
      for (;;) {
        pthread_mutex_lock(&lock);
        int done = released;
        pthread_mutex_unlock(&lock);
        if (done) break;
        struct timespec nap = {0, 50 * 1000000L};
        int result = nanosleep(&nap, NULL);
        EXPECT_OR_FAIL(result == 0, "sleeper: nanosleep failed: %s\n", strerror(errno));
        ++naps;
      }
      stack_t now;
      sigaltstack(NULL, &now);
      EXPECT_OR_FAIL(now.ss_sp == altstack && now.ss_size == sizeof altstack, "sleeper: sigaltstack is %p+%zu, was %p+%zu\n",
                     now.ss_sp, now.ss_size, (void*)altstack, sizeof altstack);
      EXPECT_OR_FAIL(naps > 0, "sleeper: never woke from nanosleep\n");
      break;
    }
    case POLLER: {
      struct pollfd pfd = {.fd = poll_pipe[0], .events = POLLIN};
      w->parked = 1;
      int ready = poll(&pfd, 1, -1);
      EXPECT_OR_FAIL(ready == 1 && (pfd.revents & POLLIN), "poller: poll returned %d (revents %#x): %s\n", ready, pfd.revents,
                     strerror(errno));
      char byte = 0;
      EXPECT_OR_FAIL(read(poll_pipe[0], &byte, 1) == 1 && byte == 'p', "poller: read '%c' after poll\n", byte);
      break;
    }
    case READER: {
      char buffer[8] = {0};
      w->parked = 1;
      ssize_t got = read(read_pipe[0], buffer, sizeof buffer);
      EXPECT_OR_FAIL(got == 4 && memcmp(buffer, "data", 4) == 0, "reader: read returned %zd ('%.*s'): %s\n", got,
                     got > 0 ? (int)got : 0, buffer, strerror(errno));
      break;
    }
    case PENDING: {
      w->parked = 1;
      pthread_mutex_lock(&lock);
      while (!released) pthread_cond_wait(&wake, &lock);
      pthread_mutex_unlock(&lock);
      sigset_t pending;
      sigpending(&pending);
      EXPECT_OR_FAIL(sigismember(&pending, SIGUSR2), "pending: its SIGUSR2 is no longer pending\n");
      int got = 0;
      sigset_t only;
      sigemptyset(&only);
      sigaddset(&only, SIGUSR2);
      struct timespec none = {0, 0};
      got = sigtimedwait(&only, NULL, &none);
      EXPECT_OR_FAIL(got == SIGUSR2, "pending: sigtimedwait gave %d instead of SIGUSR2\n", got);
      break;
    }
  }
  check_common(w);
  (void)name;
  return NULL;
}

int main(void) {
  install_check_handler();
  SETUP_OR_DIE(pipe(poll_pipe) == 0 && pipe(read_pipe) == 0, "pipe: %s\n", strerror(errno));
  for (int i = 0; i < WORKERS; ++i) {
    workers[i].index = i;
    int error = pthread_create(&workers[i].handle, NULL, run_worker, &workers[i]);
    SETUP_OR_DIE(error == 0, "pthread_create(%s): %s\n", kNames[i], strerror(error));
  }
  for (int i = 0; i < WORKERS; ++i)
    while (!workers[i].parked) sleep_ms(1);
  SETUP_OR_DIE(pthread_kill(workers[PENDING].handle, SIGUSR2) == 0, "pthread_kill(SIGUSR2)\n");
  sleep_ms(20);  // Let the blocking calls really block.
  say("READY pid=%d threads=%d tids=%d,%d,%d,%d,%d\n", (int)getpid(), WORKERS + 1, (int)workers[0].tid, (int)workers[1].tid,
      (int)workers[2].tid, (int)workers[3].tid, (int)workers[4].tid);
  wait_for_check();

  pthread_mutex_lock(&lock);
  released = 1;
  pthread_cond_broadcast(&wake);
  pthread_mutex_unlock(&lock);
  SETUP_OR_DIE(write(poll_pipe[1], "p", 1) == 1 && write(read_pipe[1], "data", 4) == 4, "pipe write: %s\n", strerror(errno));
  for (int i = 0; i < WORKERS; ++i) pthread_join(workers[i].handle, NULL);
  EXPECT_OR_FAIL(getpid() == 1, "getpid() is %d, not 1\n", (int)getpid());
  finish();
}
