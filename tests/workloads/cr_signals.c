// Checkpoint/restore workload: signal handlers, masks, pending signals and the alternate stack.
//
//   cr_signals
//
// Setup: a 64 KiB sigaltstack; SIGUSR2 handled with SA_SIGINFO|SA_ONSTACK|SA_RESTART and a handler
// mask of {SIGINT, SIGWINCH}; SIGRTMIN+2 handled with SA_SIGINFO; SIGHUP ignored. SIGUSR2,
// SIGRTMIN+2 and SIGTERM are blocked; raise(SIGUSR2) leaves a thread-directed pending signal
// (si_code SI_TKILL) and two sigqueue(SIGRTMIN+2) calls leave two queued process-directed
// instances with values 0x1234 and 0x5678.
// On SIGUSR1 it checks that the altstack, the blocked mask, the pending set and every disposition
// are as they were and that no handler ran yet; then it unblocks SIGUSR2 and checks that its
// handler ran once, on the alternate stack, with the right siginfo and mask; then it unblocks
// SIGRTMIN+2 and checks both queued instances arrive in order with their values.
#include <sys/mman.h>

#include "cr_common.h"

enum { ALTSTACK_SIZE = 64 * 1024 };

struct delivery {
  int signo, code, value;
  pid_t pid;
  uid_t uid;
  int on_altstack;
  int handler_mask_ok;
};

static char* altstack;
static volatile sig_atomic_t usr2_deliveries, rt_deliveries;
static struct delivery usr2_delivery, rt_delivery[2];

static int rt_signal(void) { return SIGRTMIN + 2; }

static void record(struct delivery* into, siginfo_t* info) {
  char local;
  into->signo = info->si_signo;
  into->code = info->si_code;
  into->pid = info->si_pid;
  into->uid = info->si_uid;
  into->value = info->si_value.sival_int;
  into->on_altstack = &local >= altstack && &local < altstack + ALTSTACK_SIZE;
}

static void on_usr2(int signo, siginfo_t* info, void* context) {
  (void)signo;
  (void)context;
  record(&usr2_delivery, info);
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  // While the handler runs: its own signal plus the sa_mask it was installed with.
  usr2_delivery.handler_mask_ok = sigismember(&now, SIGUSR2) && sigismember(&now, SIGINT) && sigismember(&now, SIGWINCH);
  ++usr2_deliveries;
}

static void on_rt(int signo, siginfo_t* info, void* context) {
  (void)signo;
  (void)context;
  if (rt_deliveries < 2) record(&rt_delivery[rt_deliveries], info);
  ++rt_deliveries;
}

static void set_action(int signo, void (*handler)(int, siginfo_t*, void*), int flags, int mask1, int mask2) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = handler;
  action.sa_flags = flags;
  sigemptyset(&action.sa_mask);
  if (mask1) sigaddset(&action.sa_mask, mask1);
  if (mask2) sigaddset(&action.sa_mask, mask2);
  SETUP_OR_DIE(sigaction(signo, &action, NULL) == 0, "sigaction(%d): %s\n", signo, strerror(errno));
}

// A sigaction as the kernel reports it, in a form two readings can be compared by.
struct disposition {
  void* handler;
  int flags;
  void* restorer;
  uint64_t mask;
};

static uint64_t mask_bits(const sigset_t* set) {
  uint64_t bits = 0;
  for (int signo = 1; signo <= 64; ++signo)
    if (sigismember(set, signo) == 1) bits |= 1ULL << (signo - 1);
  return bits;
}

static struct disposition read_disposition(int signo) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  sigaction(signo, NULL, &action);
  struct disposition d = {(void*)action.sa_sigaction, action.sa_flags, (void*)action.sa_restorer,
                          mask_bits(&action.sa_mask)};
  return d;
}

static uint64_t blocked_now(void) {
  sigset_t set;
  sigprocmask(SIG_BLOCK, NULL, &set);
  return mask_bits(&set);
}

static uint64_t pending_now(void) {
  sigset_t set;
  sigpending(&set);
  return mask_bits(&set);
}

static uint64_t bit(int signo) { return 1ULL << (signo - 1); }

static void unblock(int signo) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signo);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
}

int main(void) {
  install_check_handler();
  pid_t self = getpid();

  altstack = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SETUP_OR_DIE(altstack != MAP_FAILED, "mmap altstack: %s\n", strerror(errno));
  stack_t stack = {.ss_sp = altstack, .ss_flags = 0, .ss_size = ALTSTACK_SIZE};
  SETUP_OR_DIE(sigaltstack(&stack, NULL) == 0, "sigaltstack: %s\n", strerror(errno));

  set_action(SIGUSR2, on_usr2, SA_SIGINFO | SA_ONSTACK | SA_RESTART, SIGINT, SIGWINCH);
  set_action(rt_signal(), on_rt, SA_SIGINFO, 0, 0);
  SETUP_OR_DIE(signal(SIGHUP, SIG_IGN) != SIG_ERR, "signal(SIGHUP): %s\n", strerror(errno));

  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGUSR2);
  sigaddset(&blocked, rt_signal());
  sigaddset(&blocked, SIGTERM);
  SETUP_OR_DIE(sigprocmask(SIG_BLOCK, &blocked, NULL) == 0, "sigprocmask: %s\n", strerror(errno));
  SETUP_OR_DIE(raise(SIGUSR2) == 0, "raise(SIGUSR2): %s\n", strerror(errno));
  union sigval first = {.sival_int = 0x1234}, second = {.sival_int = 0x5678};
  SETUP_OR_DIE(sigqueue(self, rt_signal(), first) == 0 && sigqueue(self, rt_signal(), second) == 0,
               "sigqueue: %s\n", strerror(errno));

  const int watched[] = {SIGUSR1, SIGUSR2, rt_signal(), SIGHUP, SIGTERM, SIGINT};
  enum { WATCHED = sizeof watched / sizeof watched[0] };
  struct disposition before[WATCHED];
  for (int i = 0; i < WATCHED; ++i) before[i] = read_disposition(watched[i]);
  uint64_t blocked_before = blocked_now();
  uint64_t pending_before = pending_now();
  SETUP_OR_DIE(pending_before == (bit(SIGUSR2) | bit(rt_signal())), "pending set %#llx\n",
               (unsigned long long)pending_before);
  SETUP_OR_DIE(usr2_deliveries == 0 && rt_deliveries == 0, "a blocked signal was delivered\n");

  say("READY pid=%d altstack=%p blocked=%#llx pending=%#llx\n", (int)self, (void*)altstack,
      (unsigned long long)blocked_before, (unsigned long long)pending_before);
  wait_for_check();

  stack_t stack_after;
  EXPECT_OR_FAIL(sigaltstack(NULL, &stack_after) == 0, "sigaltstack: %s\n", strerror(errno));
  EXPECT_OR_FAIL(stack_after.ss_sp == altstack && stack_after.ss_size == ALTSTACK_SIZE && stack_after.ss_flags == 0,
                 "sigaltstack is %p size %zu flags %d, was %p size %d flags 0\n", stack_after.ss_sp,
                 stack_after.ss_size, stack_after.ss_flags, (void*)altstack, ALTSTACK_SIZE);
  EXPECT_OR_FAIL(blocked_now() == blocked_before, "blocked mask %#llx, was %#llx\n", (unsigned long long)blocked_now(),
                 (unsigned long long)blocked_before);
  EXPECT_OR_FAIL(pending_now() == pending_before, "pending set %#llx, was %#llx\n", (unsigned long long)pending_now(),
                 (unsigned long long)pending_before);
  for (int i = 0; i < WATCHED; ++i) {
    struct disposition now = read_disposition(watched[i]);
    EXPECT_OR_FAIL(now.handler == before[i].handler && now.flags == before[i].flags &&
                       now.restorer == before[i].restorer && now.mask == before[i].mask,
                   "signal %d: handler %p flags %#x restorer %p mask %#llx, was %p %#x %p %#llx\n", watched[i],
                   now.handler, now.flags, now.restorer, (unsigned long long)now.mask, before[i].handler,
                   before[i].flags, before[i].restorer, (unsigned long long)before[i].mask);
  }
  EXPECT_OR_FAIL(usr2_deliveries == 0 && rt_deliveries == 0, "a blocked signal was delivered across the checkpoint\n");

  unblock(SIGUSR2);  // the pending SIGUSR2 is delivered before sigprocmask returns
  EXPECT_OR_FAIL(usr2_deliveries == 1, "SIGUSR2 handler ran %d times after unblocking, expected once\n",
                 (int)usr2_deliveries);
  if (usr2_deliveries == 1) {
    struct delivery d = usr2_delivery;
    EXPECT_OR_FAIL(d.signo == SIGUSR2 && d.code == SI_TKILL && d.pid == self && d.uid == getuid(),
                   "SIGUSR2 siginfo: signo %d code %d pid %d uid %d, expected %d %d %d %d\n", d.signo, d.code,
                   (int)d.pid, (int)d.uid, SIGUSR2, SI_TKILL, (int)self, (int)getuid());
    EXPECT_OR_FAIL(d.on_altstack, "SIGUSR2 handler did not run on the alternate stack\n");
    EXPECT_OR_FAIL(d.handler_mask_ok, "SIGUSR2 handler ran without its sa_mask {SIGINT, SIGWINCH} blocked\n");
  }

  unblock(rt_signal());
  EXPECT_OR_FAIL(rt_deliveries == 2, "SIGRTMIN+2 handler ran %d times, expected 2 (two queued)\n", (int)rt_deliveries);
  const int values[2] = {0x1234, 0x5678};
  for (int i = 0; i < 2 && i < rt_deliveries; ++i) {
    struct delivery d = rt_delivery[i];
    EXPECT_OR_FAIL(d.signo == rt_signal() && d.code == SI_QUEUE && d.pid == self && d.value == values[i],
                   "SIGRTMIN+2 #%d siginfo: signo %d code %d pid %d value %#x, expected %d %d %d %#x\n", i + 1,
                   d.signo, d.code, (int)d.pid, d.value, rt_signal(), SI_QUEUE, (int)self, values[i]);
    EXPECT_OR_FAIL(!d.on_altstack, "SIGRTMIN+2 handler ran on the alternate stack without SA_ONSTACK\n");
  }
  EXPECT_OR_FAIL(blocked_now() == bit(SIGTERM), "blocked mask %#llx after unblocking, expected only SIGTERM\n",
                 (unsigned long long)blocked_now());
  EXPECT_OR_FAIL(pending_now() == 0, "pending set %#llx after delivery\n", (unsigned long long)pending_now());
  finish();
}
