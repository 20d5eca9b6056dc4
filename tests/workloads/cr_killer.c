// Checkpoint/restore workload: an init that SIGKILLs its children once CLOCK_MONOTONIC passes a
// deadline, the way stress-ng ends the helpers of a stressor whose time is up. Restored with the
// clocks shifted past the deadline, it kills them the moment it runs again, possibly before the
// restore has let them go.
//
//   cr_killer [--procs=N] [--after-ms=MS]
//
// N children (default 8) sleep forever. The init waits until MS ms (default 60000) after READY,
// then kills every child with SIGKILL and reaps it: each must be reaped, killed by SIGKILL, as
// its own child. On SIGUSR1, after that, it says PASS.
#include <sys/wait.h>

#include "cr_common.h"

int main(int argc, char** argv) {
  int procs = (int)arg_number(argc, argv, "procs", 8);
  long after_ms = (long)arg_number(argc, argv, "after-ms", 60000);
  install_check_handler();
  pid_t* children = calloc((size_t)procs, sizeof(pid_t));
  SETUP_OR_DIE(children != NULL, "calloc\n");
  for (int i = 0; i < procs; ++i) {
    children[i] = fork();
    SETUP_OR_DIE(children[i] >= 0, "fork: %s\n", strerror(errno));
    if (children[i] == 0)
      for (;;) pause();
  }
  int64_t deadline = clock_ns(CLOCK_MONOTONIC) + after_ms * 1000000LL;
  say("READY procs=%d\n", procs);
  while (clock_ns(CLOCK_MONOTONIC) < deadline) sleep_ms(1);
  for (int i = 0; i < procs; ++i) kill(children[i], SIGKILL);
  for (int i = 0; i < procs; ++i) {
    int status = 0;
    pid_t got = waitpid(children[i], &status, 0);
    EXPECT_OR_FAIL(got == children[i], "child %d (pid %d): waitpid: %s\n", i, children[i], strerror(errno));
    if (got == children[i])
      EXPECT_OR_FAIL(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child %d (pid %d) ended with status %#x, not SIGKILL\n", i,
                     children[i], status);
  }
  say("killed and reaped %d children\n", procs);
  wait_for_check();
  finish();
}
