// Checkpoint/restore workload: the NUMA memory policy of each thread (set_mempolicy), as numactl
// --interleave or --membind leaves it to a program. Node 0 is on every machine.
//
//   cr_mempolicy
//
// The main thread sets MPOL_INTERLEAVE | MPOL_F_STATIC_NODES on node 0, then starts three threads,
// which inherit it: the first sets the default policy back, the second MPOL_PREFERRED |
// MPOL_F_RELATIVE_NODES on node 0, the third MPOL_LOCAL. A forked child (it inherits the
// interleave too) sets MPOL_BIND on node 0. On SIGUSR1 each thread checks its own with
// get_mempolicy; the child reports to the init over a pipe.
#define _GNU_SOURCE
#include <linux/mempolicy.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "cr_common.h"

struct policy {
  const char* who;
  int mode;               // With its mode flags.
  unsigned long nodemask;  // Empty for MPOL_DEFAULT and MPOL_LOCAL.
};

static const struct policy kMain = {"main thread", MPOL_INTERLEAVE | MPOL_F_STATIC_NODES, 1};
static const struct policy kThreads[3] = {
    {"default thread", MPOL_DEFAULT, 0},
    {"preferred thread", MPOL_PREFERRED | MPOL_F_RELATIVE_NODES, 1},
    {"local thread", MPOL_LOCAL, 0},
};
static const struct policy kChild = {"child", MPOL_BIND, 1};
static volatile int threads_ready, threads_check, threads_done;

static void set_policy(const struct policy* p) {
  unsigned long mask = p->nodemask;
  // set_mempolicy reads one bit fewer than maxnode says.
  SETUP_OR_DIE(syscall(SYS_set_mempolicy, p->mode, mask ? &mask : NULL, mask ? 65 : 0) == 0, "%s: set_mempolicy(%#x): %s\n", p->who,
               p->mode, strerror(errno));
}

static void expect_policy(const struct policy* p) {
  int mode = -1;
  unsigned long mask = ~0ul;
  EXPECT_OR_FAIL(syscall(SYS_get_mempolicy, &mode, &mask, 64, NULL, 0) == 0, "%s: get_mempolicy: %s\n", p->who, strerror(errno));
  EXPECT_OR_FAIL(mode == p->mode && mask == p->nodemask, "%s: memory policy %#x on nodes %#lx, was %#x on nodes %#lx\n", p->who,
                 mode, mask, p->mode, p->nodemask);
}

static void* thread_main(void* arg) {
  const struct policy* p = arg;
  set_policy(p);
  __sync_fetch_and_add(&threads_ready, 1);
  while (!threads_check) sleep_ms(5);
  expect_policy(p);
  __sync_fetch_and_add(&threads_done, 1);
  return NULL;
}

int main(void) {
  install_check_handler();
  set_policy(&kMain);
  int report[2];
  SETUP_OR_DIE(pipe(report) == 0, "pipe: %s\n", strerror(errno));
  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) {
    set_policy(&kChild);
    (void)!write(report[1], "r", 1);
    wait_for_check();
    expect_policy(&kChild);
    (void)!write(report[1], problems_found == 0 ? "P" : "F", 1);
    _exit(0);
  }
  pthread_t threads[3];
  for (int i = 0; i < 3; ++i)
    SETUP_OR_DIE(pthread_create(&threads[i], NULL, thread_main, (void*)&kThreads[i]) == 0, "pthread_create\n");
  while (threads_ready < 3) sleep_ms(1);
  char byte;
  SETUP_OR_DIE(read(report[0], &byte, 1) == 1 && byte == 'r', "the child did not start\n");
  say("READY child=%d\n", (int)child);
  wait_for_check();
  kill(child, SIGUSR1);
  threads_check = 1;
  for (int i = 0; i < 3; ++i) pthread_join(threads[i], NULL);
  expect_policy(&kMain);
  EXPECT_OR_FAIL(read(report[0], &byte, 1) == 1 && byte == 'P', "the child failed its checks\n");
  waitpid(child, NULL, 0);
  finish();
}
