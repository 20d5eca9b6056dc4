// Checkpoint/restore workload for races with the freezer: the init keeps up to four short-lived
// children alive at once, forking a new one as soon as one is reaped; every third child forks and
// reaps a grandchild of its own before exiting. Processes therefore appear and exit all the time,
// also while a dump seizes the tree.
//
//   cr_churn
//
// Each child exits with a code derived from its sequence number, which the init remembers by PID:
// a child caught as a zombie by a dump must come back from a restore with the same PID and exit
// code, a child caught alive must finish as it would have. On SIGUSR1 the init stops forking,
// reaps what is left and checks that every child it reaped was one of its own with the expected
// exit code, and that forking went on after READY.
#include <sys/wait.h>

#include "cr_common.h"

enum { SLOTS = 4 };

struct slot {
  pid_t pid;
  unsigned seq;
};

static int expected_code(unsigned seq) { return (int)(seq % 100); }

static void run_child(unsigned seq) {
  if (seq % 3 == 0) {
    pid_t grandchild = fork();
    if (grandchild < 0) _exit(200);
    if (grandchild == 0) _exit(7);
    int status = 0;
    pid_t got;
    while ((got = waitpid(grandchild, &status, 0)) < 0 && errno == EINTR) {
    }
    if (got != grandchild || !WIFEXITED(status) || WEXITSTATUS(status) != 7) _exit(201);
  }
  _exit(expected_code(seq));
}

static struct slot slots[SLOTS];
static unsigned next_seq = 1;
static unsigned long reaped;

static void start_child(struct slot* s) {
  unsigned seq = next_seq++;
  pid_t pid = fork();
  SETUP_OR_DIE(pid >= 0, "fork: %s\n", strerror(errno));
  if (pid == 0) run_child(seq);
  s->pid = pid;
  s->seq = seq;
}

// Reaps one child (blocking) and checks it against what was started.
static void reap_one(void) {
  int status = 0;
  pid_t got = waitpid(-1, &status, 0);
  if (got < 0) {
    EXPECT_OR_FAIL(errno == EINTR, "waitpid: %s\n", strerror(errno));
    return;
  }
  for (int i = 0; i < SLOTS; ++i) {
    if (slots[i].pid != got) continue;
    EXPECT_OR_FAIL(WIFEXITED(status) && WEXITSTATUS(status) == expected_code(slots[i].seq),
                   "child %d (seq %u) ended with status 0x%x, expected exit %d\n", got, slots[i].seq, status,
                   expected_code(slots[i].seq));
    slots[i].pid = 0;
    ++reaped;
    return;
  }
  EXPECT_OR_FAIL(0, "reaped pid %d, which is not a child this init started\n", got);
}

int main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  install_check_handler();
  for (int i = 0; i < SLOTS; ++i) start_child(&slots[i]);
  int ready = 0;
  while (!check_requested) {
    reap_one();
    for (int i = 0; i < SLOTS; ++i)
      if (slots[i].pid == 0 && !check_requested) start_child(&slots[i]);
    if (!ready && reaped >= 100) {
      ready = 1;
      say("READY churn pid %d\n", getpid());
    }
  }
  unsigned long reaped_at_check = reaped;
  for (;;) {
    int outstanding = 0;
    for (int i = 0; i < SLOTS; ++i) outstanding += slots[i].pid != 0;
    if (outstanding == 0) break;
    reap_one();
  }
  EXPECT_OR_FAIL(reaped_at_check > 100, "only %lu children were reaped before the check\n", reaped_at_check);
  say("reaped %lu children\n", reaped);
  finish();
}
