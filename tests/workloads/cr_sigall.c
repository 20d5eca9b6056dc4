// Checkpoint/restore workload: the disposition of every signal, the masks and the pending signals
// with their siginfo, however cryo itself traps while it rebuilds or inspects the process.
//
//   cr_sigall
//
// Setup: every signal 1..64 but SIGKILL and SIGSTOP gets a disposition of its own (kind_of()): a
// handler with SA_SIGINFO or without, with a mix of SA_RESTART, SA_ONSTACK, SA_NODEFER and
// SA_RESETHAND and an sa_mask made from its number; SIG_IGN; or SIG_DFL, some with flags and a mask.
// SIGTRAP has a handler (SA_NODEFER), SIGCHLD one with SA_NOCLDWAIT|SA_NOCLDSTOP, SIGUSR1 stays the
// check handler; 32 and 33, which glibc keeps for itself, are set with the raw rt_sigaction. An
// alternate stack with SS_AUTODISARM. Then pending signals, blocked: SIGTRAP (raise: thread-directed,
// SI_TKILL), SIGINT both thread- and process-directed, standard signals sent with kill (SI_USER),
// a SIG_IGN and a SIG_DFL one, and real-time signals queued several times with values, process-
// directed (sigqueue) and thread-directed (pthread_sigqueue). A second thread has a mask of its own
// and SIGTRAP, SIGVTALRM and two instances of signal 57 pending for it alone. A child process has
// SIGCHLD set to SIG_IGN (its children are reaped by the kernel).
//
// On SIGUSR1 it checks that every disposition (handler, flags with glibc's SA_RESTORER, restorer,
// mask), the altstack, the blocked mask and the thread and process pending sets are as they were,
// and that no handler ran meanwhile; then unblocks the pending signals one by one and checks each
// instance arrives, in the order queued, with its si_code, si_pid, si_uid and si_value, on the
// alternate stack where SA_ONSTACK says so, with the mask the handler's flags give, and that
// SA_RESETHAND reset it; then raises SIGTRAP and every other signal with a handler and checks each
// handler runs; then checks that SA_NOCLDSTOP keeps a child's stop quiet and SA_NOCLDWAIT reaps it,
// and has the child check its own SIG_IGN.
//
// The same checks run after `cryo dump --leave-running` without a restore.
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { ALTSTACK_SIZE = 64 * 1024, MAX_SIG = 64, MAX_RECORDS = 8 };

// The kernel's struct sigaction (rt_sigaction with an 8-byte mask).
struct kernel_sigaction {
  uint64_t handler, flags, restorer, mask;
};

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif
#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

enum kind { HANDLER_INFO, HANDLER_PLAIN, IGNORED, DEFAULT };

struct delivery {
  int code, value, status;
  pid_t pid;
  uid_t uid;
  int on_altstack;
  uint64_t mask;  // Blocked while the handler ran.
};

static char* altstack;
// This thread's alternate stack (each thread has its own) and its size.
static __thread char* my_altstack;
static __thread size_t my_altstack_size;
static volatile int deliveries[MAX_SIG + 1];
static struct delivery records[MAX_SIG + 1][MAX_RECORDS];
static uint64_t restorer;  // glibc's __restore_rt, as its sigaction installs it.
static struct kernel_sigaction wanted[MAX_SIG + 1];

static uint64_t bit(int signo) { return 1ULL << (signo - 1); }
static const uint64_t kUnblockable = (1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1));

static int settable(int signo) { return signo != SIGKILL && signo != SIGSTOP; }

static enum kind kind_of(int signo) {
  if (signo == SIGTRAP || signo == SIGCHLD || signo == SIGUSR1 || signo == SIGCONT) return HANDLER_INFO;
  if (signo == SIGSEGV || signo == SIGBUS || signo == SIGFPE || signo == SIGILL || signo == SIGABRT) return HANDLER_PLAIN;
  switch (signo % 4) {
    case 0: return IGNORED;
    case 1: return HANDLER_INFO;
    case 2: return HANDLER_PLAIN;
    default: return DEFAULT;
  }
}

static uint64_t flags_of(int signo) {
  if (signo == SIGTRAP) return SA_SIGINFO | SA_NODEFER | SA_RESTART;
  if (signo == SIGCHLD) return SA_SIGINFO | SA_NOCLDWAIT | SA_NOCLDSTOP | SA_RESTART;
  switch (kind_of(signo)) {
    case HANDLER_INFO: {
      const uint64_t variants[4] = {SA_RESTART, SA_ONSTACK, SA_NODEFER | SA_RESTART, SA_RESETHAND | SA_ONSTACK};
      return SA_SIGINFO | variants[(signo / 4) % 4];
    }
    case HANDLER_PLAIN: {
      const uint64_t variants[4] = {0, SA_RESTART, SA_ONSTACK | SA_RESTART, SA_NODEFER};
      return variants[(signo / 4) % 4];
    }
    case IGNORED: return signo % 8 == 0 ? SA_RESTART : 0;
    default: return signo % 8 == 3 ? SA_RESTART | SA_ONSTACK : 0;
  }
}

// Two signals of its own, never SIGKILL or SIGSTOP (the kernel drops them from any sa_mask).
static uint64_t mask_of(int signo) {
  if (kind_of(signo) == DEFAULT && signo % 8 != 3) return 0;
  uint64_t mask = bit((signo * 7) % 64 + 1) | bit((signo * 11 + 3) % 64 + 1);
  return mask & ~kUnblockable;
}

static void record(int signo, siginfo_t* info) {
  char local;
  int n = deliveries[signo];
  if (n < MAX_RECORDS) {
    struct delivery* d = &records[signo][n];
    uint64_t mask = 0;
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &mask, 8);
    d->mask = mask;
    d->on_altstack = my_altstack && &local >= my_altstack && &local < my_altstack + my_altstack_size;
    if (info) {
      d->code = info->si_code;
      d->pid = info->si_pid;
      d->uid = info->si_uid;
      d->value = info->si_value.sival_int;
      d->status = info->si_status;
    }
  }
  deliveries[signo] = n + 1;
}

static void on_info(int signo, siginfo_t* info, void* context) {
  (void)context;
  record(signo, info);
}

static void on_plain(int signo) { record(signo, NULL); }

static long raw_sigaction(int signo, const struct kernel_sigaction* act, struct kernel_sigaction* old) {
  return syscall(SYS_rt_sigaction, signo, act, old, 8);
}

static struct kernel_sigaction read_action(int signo) {
  struct kernel_sigaction now = {0, 0, 0, 0};
  raw_sigaction(signo, NULL, &now);
  return now;
}

static void install(int signo) {
  struct kernel_sigaction act = {0, flags_of(signo), 0, mask_of(signo)};
  switch (kind_of(signo)) {
    case HANDLER_INFO: act.handler = (uint64_t)(uintptr_t)on_info; break;
    case HANDLER_PLAIN: act.handler = (uint64_t)(uintptr_t)on_plain; break;
    case IGNORED: act.handler = (uint64_t)(uintptr_t)SIG_IGN; break;
    case DEFAULT: act.handler = (uint64_t)(uintptr_t)SIG_DFL; break;
  }
  if (act.handler > 1 || act.flags != 0) {
    act.flags |= SA_RESTORER;
    act.restorer = restorer;
  }
  SETUP_OR_DIE(raw_sigaction(signo, &act, NULL) == 0, "rt_sigaction(%d): %s\n", signo, strerror(errno));
  wanted[signo] = read_action(signo);
}

// Through the raw call: glibc's sigprocmask hides and never changes 32 and 33.
static uint64_t blocked_now(void) {
  uint64_t bits = 0;
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &bits, 8);
  return bits;
}

static void set_blocked(uint64_t bits) { syscall(SYS_rt_sigprocmask, SIG_SETMASK, &bits, NULL, 8); }

// SigPnd (thread) or ShdPnd (process) of /proc/self/status.
static uint64_t pending_set(const char* field) {
  FILE* f = fopen("/proc/thread-self/status", "r");
  if (!f) return ~0ULL;
  char line[256];
  uint64_t value = ~0ULL;
  size_t len = strlen(field);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, field, len) == 0 && line[len] == ':') value = strtoull(line + len + 1, NULL, 16);
  fclose(f);
  return value;
}

// One queued instance: who queued it and how, in the order they were queued (thread-directed
// instances of a signal are dequeued before its process-directed ones).
struct queued {
  int signo, code, value, thread;
};

static struct queued queue[32];
static int queued_count;

static void queue_signal(int signo, int how, int value) {
  pid_t self = getpid();
  int ok;
  switch (how) {
    case SI_TKILL: ok = raise(signo) == 0; break;
    case SI_USER: ok = kill(self, signo) == 0; break;
    default: {
      union sigval v = {.sival_int = value};
      ok = how == 1 ? pthread_sigqueue(pthread_self(), signo, v) == 0 : sigqueue(self, signo, v) == 0;
    }
  }
  SETUP_OR_DIE(ok, "queue signal %d: %s\n", signo, strerror(errno));
  struct queued q = {signo, how == 1 ? SI_QUEUE : how, value, how == 1 || how == SI_TKILL};
  queue[queued_count++] = q;
}

// The instances of `signo`, in the order the kernel hands them over.
static int expected_of(int signo, struct queued* out) {
  int n = 0;
  for (int pass = 1; pass >= 0; --pass)
    for (int i = 0; i < queued_count; ++i)
      if (queue[i].signo == signo && queue[i].thread == pass) {
        // A standard signal is pending at most once per queue.
        int dup = 0;
        if (signo < 32)
          for (int j = 0; j < n; ++j) dup |= out[j].thread == pass;
        if (!dup) out[n++] = queue[i];
      }
  return n;
}

static int handled(int signo) { return kind_of(signo) == HANDLER_INFO || kind_of(signo) == HANDLER_PLAIN; }

// The mask a handler runs with: the mask of the moment plus its sa_mask and, without SA_NODEFER, itself.
static uint64_t handler_mask(int signo, uint64_t blocked) {
  uint64_t mask = blocked | mask_of(signo);
  if (!(flags_of(signo) & SA_NODEFER)) mask |= bit(signo);
  return mask & ~kUnblockable;
}

static void check_delivery(int signo, int index, const struct queued* q, uint64_t blocked) {
  if (index >= MAX_RECORDS) return;
  const struct delivery* d = &records[signo][index];
  EXPECT_OR_FAIL(d->mask == handler_mask(signo, blocked), "signal %d #%d: handler ran with mask %#llx, expected %#llx\n", signo,
                 index + 1, (unsigned long long)d->mask, (unsigned long long)handler_mask(signo, blocked));
  int onstack = (flags_of(signo) & SA_ONSTACK) != 0;
  EXPECT_OR_FAIL(d->on_altstack == onstack, "signal %d #%d: handler %s the alternate stack\n", signo, index + 1,
                 onstack ? "did not run on" : "ran on");
  if (kind_of(signo) != HANDLER_INFO || !q) return;
  EXPECT_OR_FAIL(d->code == q->code && d->pid == getpid() && d->uid == getuid() &&
                     (q->code != SI_QUEUE || d->value == q->value),
                 "signal %d #%d: si_code %d si_pid %d si_uid %d si_value %#x, expected %d %d %d %#x\n", signo, index + 1,
                 d->code, (int)d->pid, (int)d->uid, d->value, q->code, (int)getpid(), (int)getuid(), q->value);
}

// The child: SIGCHLD ignored, so the kernel reaps its own children. Reports on `report` with 'P'/'F'.
static void run_sigign_child(int report, int ready) {
  SETUP_OR_DIE(signal(SIGCHLD, SIG_IGN) != SIG_ERR, "child: signal(SIGCHLD): %s\n", strerror(errno));
  check_requested = 0;
  (void)!write(ready, "r", 1);
  wait_for_check();
  int ok = 1;
  struct kernel_sigaction now = read_action(SIGCHLD);
  if (now.handler != (uint64_t)(uintptr_t)SIG_IGN) {
    say("FAIL: child: SIGCHLD handler %#llx, was SIG_IGN\n", (unsigned long long)now.handler);
    ok = 0;
  }
  pid_t grandchild = fork();
  if (grandchild == 0) _exit(3);
  // With SIGCHLD ignored, wait blocks until the child is gone and then fails with ECHILD.
  pid_t got = waitpid(grandchild, NULL, 0);
  if (got != -1 || errno != ECHILD) {
    say("FAIL: child: waitpid of an exited grandchild returned %d (%s), expected ECHILD: SIG_IGN on SIGCHLD lost\n", (int)got,
        strerror(errno));
    ok = 0;
  }
  (void)!write(report, ok ? "P" : "F", 1);
  _exit(0);
}

static int wait_state(pid_t pid, char wanted_state) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  for (int i = 0; i < 2000; ++i) {
    FILE* f = fopen(path, "r");
    if (!f) return 0;
    char buf[512];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char* close = strrchr(buf, ')');
    if (close && close[1] == ' ' && close[2] == wanted_state) return 1;
    sleep_ms(1);
  }
  return 0;
}

static int wait_deliveries(int signo, int count) {
  for (int i = 0; i < 2000 && deliveries[signo] < count; ++i) sleep_ms(1);
  return deliveries[signo] >= count;
}

static void check_sigchld(void) {
  int before = deliveries[SIGCHLD];
  pid_t child = fork();
  if (child == 0) _exit(7);
  EXPECT_OR_FAIL(wait_deliveries(SIGCHLD, before + 1), "no SIGCHLD for an exited child\n");
  if (deliveries[SIGCHLD] == before + 1 && before < MAX_RECORDS) {
    const struct delivery* d = &records[SIGCHLD][before];
    EXPECT_OR_FAIL(d->code == CLD_EXITED && d->pid == child && d->status == 7,
                   "SIGCHLD siginfo: code %d pid %d status %d, expected CLD_EXITED pid %d status 7\n", d->code, (int)d->pid,
                   d->status, (int)child);
  }
  pid_t got = waitpid(child, NULL, 0);
  EXPECT_OR_FAIL(got == -1 && errno == ECHILD, "waitpid of an exited child returned %d, expected ECHILD (SA_NOCLDWAIT lost)\n", (int)got);

  // SA_NOCLDSTOP: a child that stops sends nothing.
  before = deliveries[SIGCHLD];
  child = fork();
  if (child == 0) {
    raise(SIGSTOP);
    _exit(0);
  }
  EXPECT_OR_FAIL(wait_state(child, 'T'), "the child did not stop\n");
  sleep_ms(50);
  EXPECT_OR_FAIL(deliveries[SIGCHLD] == before, "a stopped child sent SIGCHLD (SA_NOCLDSTOP lost)\n");
  kill(child, SIGKILL);
  EXPECT_OR_FAIL(wait_deliveries(SIGCHLD, before + 1), "no SIGCHLD for a killed child\n");
  got = waitpid(child, NULL, 0);
  EXPECT_OR_FAIL(got == -1 && errno == ECHILD, "waitpid of a killed child returned %d, expected ECHILD\n", (int)got);
}

// A second thread with a mask of its own and signals pending for it alone (pthread_kill,
// pthread_sigqueue): each thread's own pending signals are restored from inside that thread.
static const int kThreadSignals[] = {SIGTRAP, SIGVTALRM, 57};
static pthread_t other_thread;
static volatile int other_thread_go;
static uint64_t other_blocked, other_pending, main_blocked;

static uint64_t thread_extra_mask(void) { return bit(SIGVTALRM) | bit(57) | bit(SIGCHLD); }

static void* other_thread_main(void* arg) {
  (void)arg;
  my_altstack_size = ALTSTACK_SIZE / 2;
  my_altstack = mmap(NULL, my_altstack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SETUP_OR_DIE(my_altstack != MAP_FAILED, "mmap altstack: %s\n", strerror(errno));
  stack_t stack = {.ss_sp = my_altstack, .ss_flags = 0, .ss_size = my_altstack_size};
  SETUP_OR_DIE(sigaltstack(&stack, NULL) == 0, "sigaltstack: %s\n", strerror(errno));
  // The handshake: 1 take the main thread's mask and more, 3 done; 4 record the pending set, 0 done;
  // 2 check (after the checkpoint).
  while (other_thread_go != 1) sleep_ms(1);
  uint64_t mask = main_blocked | thread_extra_mask();
  set_blocked(mask);
  other_blocked = blocked_now();
  other_thread_go = 3;
  while (other_thread_go != 4) sleep_ms(1);
  other_pending = pending_set("SigPnd");
  other_thread_go = 0;
  while (other_thread_go != 2) sleep_ms(1);
  stack_t now;
  EXPECT_OR_FAIL(sigaltstack(NULL, &now) == 0 && now.ss_sp == my_altstack && now.ss_size == my_altstack_size && now.ss_flags == 0,
                 "second thread: sigaltstack is %p size %zu flags %#x, was %p size %zu flags 0\n", now.ss_sp, now.ss_size,
                 now.ss_flags, (void*)my_altstack, my_altstack_size);
  EXPECT_OR_FAIL(blocked_now() == other_blocked, "second thread: blocked mask %#llx, was %#llx\n", (unsigned long long)blocked_now(),
                 (unsigned long long)other_blocked);
  EXPECT_OR_FAIL(pending_set("SigPnd") == other_pending, "second thread: pending set %#llx, was %#llx\n",
                 (unsigned long long)pending_set("SigPnd"), (unsigned long long)other_pending);
  // SIGTRAP: one instance (SI_TKILL). SIGVTALRM: one. 57 (SA_NODEFER): two with values, last first.
  const struct queued expected[] = {{SIGTRAP, SI_TKILL, 0, 1}, {SIGVTALRM, SI_TKILL, 0, 1}, {57, SI_QUEUE, 0x5702, 1},
                                    {57, SI_QUEUE, 0x5701, 1}};
  size_t next = 0;
  for (size_t i = 0; i < sizeof kThreadSignals / sizeof kThreadSignals[0]; ++i) {
    int signo = kThreadSignals[i];
    int before = deliveries[signo];
    int want = signo == 57 ? 2 : 1;
    mask &= ~bit(signo);
    set_blocked(mask);
    EXPECT_OR_FAIL(deliveries[signo] == before + want, "second thread: signal %d: handler ran %d times after unblocking, expected %d\n",
                   signo, deliveries[signo] - before, want);
    for (int k = 0; k < want && deliveries[signo] >= before + want; ++k) check_delivery(signo, before + k, &expected[next + k], mask);
    next += want;
  }
  return NULL;
}

int main(void) {
  install_check_handler();
  struct sigaction probe;
  sigaction(SIGUSR1, NULL, &probe);
  restorer = (uint64_t)(uintptr_t)probe.sa_restorer;
  SETUP_OR_DIE(restorer != 0, "glibc set no sa_restorer\n");

  // The child with SIGCHLD ignored comes first, before this process sets its own dispositions.
  int report[2], ready[2];
  SETUP_OR_DIE(pipe(report) == 0 && pipe(ready) == 0, "pipe: %s\n", strerror(errno));
  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) run_sigign_child(report[1], ready[1]);
  char byte;
  SETUP_OR_DIE(read(ready[0], &byte, 1) == 1, "the child did not start\n");

  // The thread first: glibc's pthread_create sets its own handler for signal 33.
  SETUP_OR_DIE(pthread_create(&other_thread, NULL, other_thread_main, NULL) == 0, "pthread_create\n");

  altstack = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SETUP_OR_DIE(altstack != MAP_FAILED, "mmap altstack: %s\n", strerror(errno));
  stack_t stack = {.ss_sp = altstack, .ss_flags = SS_AUTODISARM, .ss_size = ALTSTACK_SIZE};
  SETUP_OR_DIE(sigaltstack(&stack, NULL) == 0, "sigaltstack: %s\n", strerror(errno));
  my_altstack = altstack;
  my_altstack_size = ALTSTACK_SIZE;

  for (int signo = 1; signo <= MAX_SIG; ++signo)
    if (settable(signo) && signo != SIGUSR1) install(signo);
  wanted[SIGUSR1] = read_action(SIGUSR1);

  // Pending: each blocked; some standard signals twice (thread and process), real-time ones several
  // times with values.
  const int pending_signals[] = {SIGHUP, SIGINT, SIGTRAP, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU, SIGQUIT, 33, 37, 41, 49, 53};
  uint64_t blocked = 0;
  for (size_t i = 0; i < sizeof pending_signals / sizeof pending_signals[0]; ++i) blocked |= bit(pending_signals[i]);
  for (int signo = 1; signo <= MAX_SIG; ++signo)
    if (signo % 5 == 0 && signo != SIGUSR1) blocked |= bit(signo);
  blocked &= ~kUnblockable;
  set_blocked(blocked);
  main_blocked = blocked_now();
  other_thread_go = 1;
  while (other_thread_go != 3) sleep_ms(1);
  queue_signal(SIGTRAP, SI_TKILL, 0);
  queue_signal(SIGINT, SI_TKILL, 0);
  queue_signal(SIGINT, SI_USER, 0);
  queue_signal(SIGHUP, SI_USER, 0);
  queue_signal(SIGPIPE, SI_TKILL, 0);
  // Ignored, but blocked: pending all the same. (A stop signal discards a pending SIGCONT and
  // SIGCONT the stop signals, so SIGCONT cannot be pending with them.)
  queue_signal(SIGTSTP, SI_USER, 0);
  queue_signal(SIGQUIT, SI_USER, 0);   // SIG_DFL in a namespace init: discarded when unblocked
  queue_signal(SIGTTIN, SI_TKILL, 0);
  queue_signal(SIGTTOU, SI_USER, 0);
  queue_signal(33, SI_QUEUE, 0x3301);
  queue_signal(33, SI_QUEUE, 0x3302);
  queue_signal(37, SI_QUEUE, 0x3701);
  queue_signal(37, SI_QUEUE, 0x3702);
  queue_signal(37, SI_QUEUE, 0x3703);
  queue_signal(41, 1, 0x4101);  // pthread_sigqueue: thread-directed
  queue_signal(41, 1, 0x4102);
  queue_signal(49, SI_QUEUE, 0x4901);  // process-directed first, but the thread's comes first
  queue_signal(49, 1, 0x4902);
  queue_signal(53, SI_TKILL, 0);
  queue_signal(53, SI_TKILL, 0);
  queue_signal(53, SI_QUEUE, 0x5303);

  SETUP_OR_DIE(pthread_kill(other_thread, SIGTRAP) == 0 && pthread_kill(other_thread, SIGVTALRM) == 0, "pthread_kill\n");
  union sigval v1 = {.sival_int = 0x5701}, v2 = {.sival_int = 0x5702};
  SETUP_OR_DIE(pthread_sigqueue(other_thread, 57, v1) == 0 && pthread_sigqueue(other_thread, 57, v2) == 0, "pthread_sigqueue\n");
  other_thread_go = 4;
  while (other_thread_go != 0) sleep_ms(1);

  uint64_t blocked_before = blocked_now();
  uint64_t thread_pending = pending_set("SigPnd"), shared_pending = pending_set("ShdPnd");
  for (int signo = 1; signo <= MAX_SIG; ++signo)
    SETUP_OR_DIE(signo == SIGUSR1 || deliveries[signo] == 0, "signal %d was delivered while blocked\n", signo);

  say("READY pid=%d blocked=%#llx thread-pending=%#llx process-pending=%#llx\n", (int)getpid(), (unsigned long long)blocked_before,
      (unsigned long long)thread_pending, (unsigned long long)shared_pending);
  wait_for_check();

  for (int signo = 1; signo <= MAX_SIG; ++signo) {
    if (!settable(signo)) continue;
    struct kernel_sigaction now = read_action(signo), was = wanted[signo];
    EXPECT_OR_FAIL(now.handler == was.handler && now.flags == was.flags && now.restorer == was.restorer && now.mask == was.mask,
                   "signal %d: handler %#llx flags %#llx restorer %#llx mask %#llx, was %#llx %#llx %#llx %#llx\n", signo,
                   (unsigned long long)now.handler, (unsigned long long)now.flags, (unsigned long long)now.restorer,
                   (unsigned long long)now.mask, (unsigned long long)was.handler, (unsigned long long)was.flags,
                   (unsigned long long)was.restorer, (unsigned long long)was.mask);
  }
  stack_t stack_after;
  EXPECT_OR_FAIL(sigaltstack(NULL, &stack_after) == 0 && stack_after.ss_sp == altstack && stack_after.ss_size == ALTSTACK_SIZE &&
                     (unsigned)stack_after.ss_flags == SS_AUTODISARM,
                 "sigaltstack is %p size %zu flags %#x, was %p size %d flags SS_AUTODISARM\n", stack_after.ss_sp, stack_after.ss_size,
                 stack_after.ss_flags, (void*)altstack, ALTSTACK_SIZE);
  EXPECT_OR_FAIL(blocked_now() == blocked_before, "blocked mask %#llx, was %#llx\n", (unsigned long long)blocked_now(),
                 (unsigned long long)blocked_before);
  EXPECT_OR_FAIL(pending_set("SigPnd") == thread_pending, "thread pending set %#llx, was %#llx\n",
                 (unsigned long long)pending_set("SigPnd"), (unsigned long long)thread_pending);
  EXPECT_OR_FAIL(pending_set("ShdPnd") == shared_pending, "process pending set %#llx, was %#llx\n",
                 (unsigned long long)pending_set("ShdPnd"), (unsigned long long)shared_pending);
  for (int signo = 1; signo <= MAX_SIG; ++signo)
    EXPECT_OR_FAIL(signo == SIGUSR1 || deliveries[signo] == 0, "signal %d: handler ran %d times across the checkpoint\n", signo,
                   deliveries[signo]);

  // Each pending signal alone: every instance, in order, with its siginfo.
  uint64_t mask = blocked_before;
  for (int signo = 1; signo <= MAX_SIG; ++signo) {
    struct queued expected[16];
    int n = expected_of(signo, expected);
    if (n == 0) continue;
    mask &= ~bit(signo);
    set_blocked(mask);  // delivered before the call returns
    // SA_RESETHAND: the first instance resets the handler, and the next are discarded (SIG_DFL in a
    // namespace init). SA_NODEFER: every instance is dequeued before the first handler runs, each
    // handler frame on top of the last, so they run last queued first.
    int want = !handled(signo) ? 0 : (flags_of(signo) & SA_RESETHAND) ? 1 : n;
    EXPECT_OR_FAIL(deliveries[signo] == want, "signal %d: handler ran %d times after unblocking, expected %d\n", signo,
                   deliveries[signo], want);
    for (int i = 0; i < want && i < deliveries[signo]; ++i)
      check_delivery(signo, i, &expected[(flags_of(signo) & SA_NODEFER) ? want - 1 - i : i], mask);
    if (handled(signo) && (flags_of(signo) & SA_RESETHAND))
      EXPECT_OR_FAIL(read_action(signo).handler == (uint64_t)(uintptr_t)SIG_DFL, "signal %d: SA_RESETHAND did not reset it\n", signo);
  }
  EXPECT_OR_FAIL(pending_set("SigPnd") == 0 && pending_set("ShdPnd") == 0, "still pending after unblocking: %#llx %#llx\n",
                 (unsigned long long)pending_set("SigPnd"), (unsigned long long)pending_set("ShdPnd"));

  // The second thread's own pending signals, in that thread.
  other_thread_go = 2;
  pthread_join(other_thread, NULL);

  // Every handler still runs: SIGTRAP first, the one cryo's own traps could have taken.
  set_blocked(0);
  for (int signo = 1; signo <= MAX_SIG; ++signo) {
    if (!settable(signo) || !handled(signo) || signo == SIGUSR1 || signo == SIGCHLD) continue;
    if ((flags_of(signo) & SA_RESETHAND) && deliveries[signo] > 0) continue;  // reset by its delivery above
    int before = deliveries[signo];
    union sigval v = {.sival_int = 0x7000 + signo};
    sigqueue(getpid(), signo, v);
    EXPECT_OR_FAIL(deliveries[signo] == before + 1, "signal %d: handler did not run when raised\n", signo);
    if (deliveries[signo] == before + 1 && kind_of(signo) == HANDLER_INFO && before < MAX_RECORDS)
      EXPECT_OR_FAIL(records[signo][before].code == SI_QUEUE && records[signo][before].value == 0x7000 + signo,
                     "signal %d: raised with value %#x, handler saw code %d value %#x\n", signo, 0x7000 + signo,
                     records[signo][before].code, records[signo][before].value);
  }

  // The child checks its SIG_IGN; its exit (SA_NOCLDWAIT: reaped by the kernel) sends SIGCHLD.
  int sigchld_before = deliveries[SIGCHLD];
  kill(child, SIGUSR1);
  EXPECT_OR_FAIL(read(report[0], &byte, 1) == 1 && byte == 'P', "the child with SIGCHLD ignored failed its check\n");
  EXPECT_OR_FAIL(wait_deliveries(SIGCHLD, sigchld_before + 1), "no SIGCHLD for the exit of the child\n");
  check_sigchld();
  finish();
}
