// Checkpoint/restore workload: the prctl state of a process and of each of its threads, every item
// set away from its default.
//
//   cr_prctl
//
// The init forks a child (a child: its parent-death signal must not fire when the restoring cryo,
// the init's parent, exits). The child's main thread sets: parent-death signal SIGUSR2, timer slack
// 123457 ns, machine-check kill policy EARLY, name "prctl-main"; a second thread sets: parent-death
// signal SIGRTMIN+3, timer slack 765433 ns, TSC reads fault (PR_TSC_SIGSEGV), CPUID faults
// (ARCH_SET_CPUID 0, where the CPU can), policy LATE, name "prctl-thread". For the whole process: THP disabled, not dumpable, child subreaper, keepcaps,
// no_new_privs (each thread), personality ADDR_NO_RANDOMIZE | READ_IMPLIES_EXEC (each thread), and
// a page mapped read-write before it, which must stay without exec. The init alone sets
// memory-deny-write-execute with its no-inherit flag (PR_SET_MDWE 1 | 2) and registers for
// private expedited membarriers, plain and rseq (membarrier 1 << 4, 1 << 8). On SIGUSR1 (forwarded by the init)
// each thread checks its own with the prctl getters; the child reports to the init over a pipe.
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "cr_common.h"

static volatile int thread_ready, thread_check, thread_done;
static const int kPersona = PER_LINUX | ADDR_NO_RANDOMIZE | READ_IMPLIES_EXEC;
static char* page_before_persona;
static int cpuid_faults;  // The second thread's CPUID faults: ENODEV where the CPU cannot.

static void expect_personality(const char* who) {
  int persona = personality(0xffffffff);
  EXPECT_OR_FAIL(persona == kPersona, "%s: personality %#x, was %#x\n", who, persona, kPersona);
}

// The page mapped before READ_IMPLIES_EXEC was set has no exec (a restore that set the personality
// before it made the mappings would give every one of them exec).
static void expect_page_not_executable(void) {
  FILE* maps = fopen("/proc/self/maps", "r");
  char line[512];
  int found = 0;
  while (maps && fgets(line, sizeof line, maps)) {
    unsigned long start, end;
    char perms[5];
    if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) != 3) continue;
    if ((unsigned long)page_before_persona < start || (unsigned long)page_before_persona >= end) continue;
    found = 1;
    EXPECT_OR_FAIL(strcmp(perms, "rw-p") == 0, "the page mapped before the personality is %s, was rw-p\n", perms);
  }
  if (maps) fclose(maps);
  EXPECT_OR_FAIL(found, "the page mapped before the personality is gone\n");
}

static void expect_prctl(const char* who, const char* what, int option, long wanted) {
  long got = prctl(option, 0, 0, 0, 0);
  EXPECT_OR_FAIL(got == wanted, "%s: %s is %ld, was %ld\n", who, what, got, wanted);
}

static void expect_prctl_out(const char* who, const char* what, int option, int wanted) {
  int got = -1;
  prctl(option, &got, 0, 0, 0);
  EXPECT_OR_FAIL(got == wanted, "%s: %s is %d, was %d\n", who, what, got, wanted);
}

static void expect_name(const char* who, const char* wanted) {
  char name[17] = {0};
  prctl(PR_GET_NAME, name, 0, 0, 0);
  EXPECT_OR_FAIL(strcmp(name, wanted) == 0, "%s: name is %s, was %s\n", who, name, wanted);
}

// arch_prctl(ARCH_GET_CPUID): 1 where the CPUID instruction runs, 0 where it faults.
static void expect_cpuid(const char* who, long wanted) {
  long got = syscall(SYS_arch_prctl, ARCH_GET_CPUID, 0);
  EXPECT_OR_FAIL(got == wanted, "%s: ARCH_GET_CPUID is %ld, was %ld\n", who, got, wanted);
}

static void* second_thread(void* arg) {
  (void)arg;
  SETUP_OR_DIE(prctl(PR_SET_PDEATHSIG, SIGRTMIN + 3, 0, 0, 0) == 0, "PR_SET_PDEATHSIG: %s\n", strerror(errno));
  SETUP_OR_DIE(prctl(PR_SET_TIMERSLACK, 765433, 0, 0, 0) == 0, "PR_SET_TIMERSLACK: %s\n", strerror(errno));
  SETUP_OR_DIE(prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_LATE, 0, 0) == 0, "PR_MCE_KILL: %s\n", strerror(errno));
  SETUP_OR_DIE(prctl(PR_SET_NAME, "prctl-thread", 0, 0, 0) == 0, "PR_SET_NAME: %s\n", strerror(errno));
  // Last: from now on this thread must not read the TSC (nanosleep is a real syscall, no vdso).
  SETUP_OR_DIE(prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0) == 0, "PR_SET_TSC: %s\n", strerror(errno));
  cpuid_faults = syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) == 0;
  SETUP_OR_DIE(cpuid_faults || errno == ENODEV, "ARCH_SET_CPUID: %s\n", strerror(errno));
  thread_ready = 1;
  while (!thread_check) sleep_ms(5);
  const char* who = "second thread";
  expect_prctl_out(who, "parent-death signal", PR_GET_PDEATHSIG, SIGRTMIN + 3);
  expect_prctl(who, "timer slack", PR_GET_TIMERSLACK, 765433);
  expect_prctl(who, "machine-check kill policy", PR_MCE_KILL_GET, PR_MCE_KILL_LATE);
  expect_prctl_out(who, "TSC mode", PR_GET_TSC, PR_TSC_SIGSEGV);
  expect_cpuid(who, !cpuid_faults);
  expect_prctl(who, "no_new_privs", PR_GET_NO_NEW_PRIVS, 1);
  expect_name(who, "prctl-thread");
  expect_personality(who);
  thread_done = 1;
  return NULL;
}

static void on_usr2(int signo) { (void)signo; }

static void run_child(int report) {
  check_requested = 0;
  signal(SIGUSR2, on_usr2);
  page_before_persona = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SETUP_OR_DIE(page_before_persona != MAP_FAILED, "mmap: %s\n", strerror(errno));
  page_before_persona[0] = 1;
  SETUP_OR_DIE(personality(kPersona) != -1, "personality: %s\n", strerror(errno));
  SETUP_OR_DIE(prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0) == 0, "PR_SET_PDEATHSIG: %s\n", strerror(errno));
  SETUP_OR_DIE(prctl(PR_SET_TIMERSLACK, 123457, 0, 0, 0) == 0, "PR_SET_TIMERSLACK: %s\n", strerror(errno));
  SETUP_OR_DIE(prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0) == 0, "PR_MCE_KILL: %s\n", strerror(errno));
  SETUP_OR_DIE(prctl(PR_SET_NAME, "prctl-main", 0, 0, 0) == 0, "PR_SET_NAME: %s\n", strerror(errno));
  SETUP_OR_DIE(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0, "PR_SET_THP_DISABLE: %s\n", strerror(errno));
  SETUP_OR_DIE(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, "PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));
  SETUP_OR_DIE(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0, "PR_SET_KEEPCAPS: %s\n", strerror(errno));
  SETUP_OR_DIE(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0, "PR_SET_DUMPABLE: %s\n", strerror(errno));
  // Process-wide in glibc's threads created later: the thread inherits it.
  SETUP_OR_DIE(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "PR_SET_NO_NEW_PRIVS: %s\n", strerror(errno));
  pthread_t thread;
  SETUP_OR_DIE(pthread_create(&thread, NULL, second_thread, NULL) == 0, "pthread_create\n");
  while (!thread_ready) sleep_ms(1);
  (void)!write(report, "r", 1);
  wait_for_check();

  const char* who = "child";
  expect_prctl_out(who, "parent-death signal", PR_GET_PDEATHSIG, SIGUSR2);
  expect_prctl(who, "timer slack", PR_GET_TIMERSLACK, 123457);
  expect_prctl(who, "machine-check kill policy", PR_MCE_KILL_GET, PR_MCE_KILL_EARLY);
  expect_prctl_out(who, "TSC mode", PR_GET_TSC, PR_TSC_ENABLE);
  expect_cpuid(who, 1);
  expect_prctl(who, "THP disable", PR_GET_THP_DISABLE, 1);
  expect_prctl_out(who, "child subreaper", PR_GET_CHILD_SUBREAPER, 1);
  expect_prctl(who, "keepcaps", PR_GET_KEEPCAPS, 1);
  expect_prctl(who, "dumpable", PR_GET_DUMPABLE, 0);
  expect_prctl(who, "no_new_privs", PR_GET_NO_NEW_PRIVS, 1);
  expect_name(who, "prctl-main");
  expect_personality(who);
  expect_page_not_executable();
  thread_check = 1;
  pthread_join(thread, NULL);
  (void)!write(report, problems_found == 0 && thread_done ? "P" : "F", 1);
  _exit(0);
}

int main(void) {
  install_check_handler();
  int report;
  pid_t child = fork_reporting_child(run_child, &report);
  const int mdwe = 1 /* PR_MDWE_REFUSE_EXEC_GAIN */ | 2 /* PR_MDWE_NO_INHERIT */;
  SETUP_OR_DIE(prctl(65 /* PR_SET_MDWE */, mdwe, 0, 0, 0) == 0, "PR_SET_MDWE: %s\n", strerror(errno));
  const long membarriers = 1 << 4 | 1 << 8;
  SETUP_OR_DIE(syscall(SYS_membarrier, 1 << 4, 0, 0) == 0 && syscall(SYS_membarrier, 1 << 8, 0, 0) == 0,
               "membarrier(register): %s\n", strerror(errno));
  say("READY child=%d\n", (int)child);
  wait_for_check();
  expect_child_passes(child, report);
  expect_prctl("init", "memory-deny-write-execute", 66 /* PR_GET_MDWE */, mdwe);
  long registered = syscall(SYS_membarrier, 1 << 9 /* GET_REGISTRATIONS */, 0, 0);
  EXPECT_OR_FAIL(registered == membarriers, "init: membarrier registrations %#lx, were %#lx\n", registered, membarriers);
  // The registration at work: unregistered, a private expedited membarrier is EPERM.
  EXPECT_OR_FAIL(syscall(SYS_membarrier, 1 << 3 /* PRIVATE_EXPEDITED */, 0, 0) == 0, "init: membarrier: %s\n", strerror(errno));
  waitpid(child, NULL, 0);
  finish();
}
