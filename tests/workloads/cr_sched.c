// Checkpoint/restore workload: each thread's scheduling and name survive.
//
//   cr_sched
//
// The main thread runs at nice 5 with I/O priority best-effort level 6; worker "batcher" runs
// SCHED_BATCH at nice 7 pinned to CPU 0; worker "realtime" runs SCHED_RR priority 3 with
// SCHED_FLAG_RESET_ON_FORK at nice -4; worker "idler" runs SCHED_IDLE at nice 3. Each worker names itself. On SIGUSR1
// every thread checks its own policy, nice, priority, CPU mask, I/O priority and name.
// Where the kernel has autogroups (/proc/self/autogroup), the init's session's autogroup gets nice
// 9, and a child in a session of its own (setsid) gives its autogroup nice -3; each checks its own.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { WORKERS = 3 };

struct sched_attr_v0 {
  uint32_t size, policy;
  uint64_t flags;
  int32_t nice;
  uint32_t priority;
  uint64_t runtime, deadline, period;
};

struct want {
  const char* name;
  uint32_t policy;
  uint64_t flags;
  int nice;
  uint32_t priority;
  int pinned_cpu;  // -1: every CPU.
  int ioprio;      // class << 13 | level, or -1 to leave as is.
};

static const struct want wants[WORKERS + 1] = {
    {"cr_sched", SCHED_OTHER, 0, 5, 0, -1, (2 << 13) | 6},
    {"batcher", SCHED_BATCH, 0, 7, 0, 0, -1},
    {"realtime", SCHED_RR, 0x01 /* SCHED_FLAG_RESET_ON_FORK */, -4, 3, -1, -1},
    {"idler", SCHED_IDLE, 0, 3, 0, -1, -1},
};
static volatile int ready_count;
static volatile int go;

static pid_t tid_now(void) { return (pid_t)syscall(SYS_gettid); }

static void apply(const struct want* w) {
  struct sched_attr_v0 attr = {sizeof attr, w->policy, w->flags, w->nice, w->priority, 0, 0, 0};
  SETUP_OR_DIE(syscall(SYS_sched_setattr, 0, &attr, 0) == 0, "%s: sched_setattr: %s\n", w->name, strerror(errno));
  // sched_setattr leaves the nice of a SCHED_IDLE or real-time thread as it was (inherited from
  // whoever started the workload); setpriority sets it, and it counts again if the thread goes back
  // to SCHED_OTHER.
  if (w->policy != SCHED_OTHER && w->policy != SCHED_BATCH)
    SETUP_OR_DIE(setpriority(PRIO_PROCESS, (id_t)tid_now(), w->nice) == 0, "%s: setpriority: %s\n", w->name, strerror(errno));
  if (w->pinned_cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(w->pinned_cpu, &set);
    SETUP_OR_DIE(sched_setaffinity(0, sizeof set, &set) == 0, "%s: sched_setaffinity: %s\n", w->name, strerror(errno));
  }
  if (w->ioprio >= 0)
    SETUP_OR_DIE(syscall(SYS_ioprio_set, 1, tid_now(), w->ioprio) == 0, "%s: ioprio_set: %s\n", w->name, strerror(errno));
  SETUP_OR_DIE(prctl(PR_SET_NAME, w->name, 0, 0, 0) == 0, "%s: PR_SET_NAME: %s\n", w->name, strerror(errno));
}

static void check(const struct want* w) {
  struct sched_attr_v0 attr;
  memset(&attr, 0, sizeof attr);
  EXPECT_OR_FAIL(syscall(SYS_sched_getattr, 0, &attr, sizeof attr, 0) == 0, "%s: sched_getattr: %s\n", w->name, strerror(errno));
  EXPECT_OR_FAIL(attr.policy == w->policy, "%s: policy %u, was %u\n", w->name, attr.policy, w->policy);
  EXPECT_OR_FAIL(attr.flags == w->flags, "%s: sched flags %#llx, were %#llx\n", w->name, (unsigned long long)attr.flags,
                 (unsigned long long)w->flags);
  // sched_getattr gives a real-time thread's nice as 0; getpriority gives the one it has.
  int nice = w->policy == SCHED_RR ? getpriority(PRIO_PROCESS, (id_t)tid_now()) : attr.nice;
  EXPECT_OR_FAIL(nice == w->nice, "%s: nice %d, was %d\n", w->name, nice, w->nice);
  EXPECT_OR_FAIL(attr.priority == w->priority, "%s: priority %u, was %u\n", w->name, attr.priority, w->priority);
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof set, &set);
  if (w->pinned_cpu >= 0)
    EXPECT_OR_FAIL(CPU_COUNT(&set) == 1 && CPU_ISSET(w->pinned_cpu, &set), "%s: CPU mask has %d CPUs, not only CPU %d\n",
                   w->name, CPU_COUNT(&set), w->pinned_cpu);
  else
    EXPECT_OR_FAIL(CPU_COUNT(&set) == sysconf(_SC_NPROCESSORS_ONLN), "%s: CPU mask has %d CPUs, not all\n", w->name, CPU_COUNT(&set));
  if (w->ioprio >= 0) {
    long ioprio = syscall(SYS_ioprio_get, 1, tid_now());
    EXPECT_OR_FAIL(ioprio == w->ioprio, "%s: I/O priority %#lx, was %#x\n", w->name, ioprio, w->ioprio);
  }
  char name[16] = {0};
  prctl(PR_GET_NAME, name, 0, 0, 0);
  EXPECT_OR_FAIL(strcmp(name, w->name) == 0, "%s: its name is '%s'\n", w->name, name);
}

static void* run_worker(void* arg) {
  const struct want* w = arg;
  apply(w);
  __sync_fetch_and_add(&ready_count, 1);
  while (!go) sleep_ms(5);
  check(w);
  return NULL;
}

// The nice of this process's autogroup, or -100 where the kernel has no autogroups.
static int autogroup_nice(void) {
  FILE* f = fopen("/proc/self/autogroup", "re");
  if (!f) return -100;
  int nice = -100;
  if (fscanf(f, "/autogroup-%*d nice %d", &nice) != 1) nice = -99;
  fclose(f);
  return nice;
}

static int set_autogroup_nice(int nice) {
  FILE* f = fopen("/proc/self/autogroup", "we");
  if (!f) return 0;  // No autogroups: nothing to check.
  int ok = fprintf(f, "%d", nice) > 0;
  return fclose(f) == 0 && ok;
}

int main(void) {
  install_check_handler();
  int autogroups = autogroup_nice() != -100;
  SETUP_OR_DIE(set_autogroup_nice(9), "write /proc/self/autogroup: %s\n", strerror(errno));
  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) {
    SETUP_OR_DIE(setsid() > 0 && set_autogroup_nice(-3), "setsid and autogroup: %s\n", strerror(errno));
    wait_for_check();
    int nice = autogroup_nice();
    EXPECT_OR_FAIL(!autogroups || nice == -3, "child: autogroup nice %d, not -3\n", nice);
    _exit(problems_found == 0 ? 0 : 1);
  }
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_t workers[WORKERS];
  // Workers leave SIGUSR1 to the main thread.
  pthread_sigmask(SIG_BLOCK, &usr1, NULL);
  for (int i = 0; i < WORKERS; ++i)
    SETUP_OR_DIE(pthread_create(&workers[i], NULL, run_worker, (void*)&wants[i + 1]) == 0, "pthread_create\n");
  pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
  apply(&wants[0]);
  while (ready_count < WORKERS) sleep_ms(1);
  say("READY pid=%d\n", (int)getpid());
  wait_for_check();
  go = 1;
  check(&wants[0]);
  int nice = autogroup_nice();
  EXPECT_OR_FAIL(!autogroups || nice == 9, "init: autogroup nice %d, not 9\n", nice);
  for (int i = 0; i < WORKERS; ++i) pthread_join(workers[i], NULL);
  EXPECT_OR_FAIL(kill(child, SIGUSR1) == 0, "kill(child): %s\n", strerror(errno));
  int status = 0;
  EXPECT_OR_FAIL(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                 "child ended with status %#x\n", status);
  finish();
}
