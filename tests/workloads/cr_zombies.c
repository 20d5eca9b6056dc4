// Checkpoint/restore workload: zombies and orphans.
//
//   cr_zombies
//
// The init (PID 1) makes three kinds of children and leaves them as they are at the checkpoint:
//   exited   exits with status 7 and is not reaped (a zombie)
//   killed   dies of a SIGTERM it sends itself, and is not reaped (a zombie with a signal status)
//   orphan   is the child of a middle process that exited, so the kernel reparented it to the init;
//            it waits for SIGUSR2
// The middle process itself is reaped before READY. On SIGUSR1 the init checks that waitpid gives
// the two zombies' statuses as they were, then wakes the orphan, which checks that its parent is
// the init and exits 0, and reaps it.
#include <sys/wait.h>

#include "cr_common.h"

static volatile sig_atomic_t woken;
static void on_wake(int signo) {
  (void)signo;
  woken = 1;
}

static void run_orphan(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_wake;
  sigaction(SIGUSR2, &action, NULL);
  while (!woken) sleep_ms(5);
  pid_t parent = getppid();
  if (parent != 1) say("FAIL: orphan: its parent is %d, not the init\n", (int)parent);
  _exit(parent == 1 ? 0 : 1);
}

static void check_zombie(pid_t pid, const char* what, int want_exited, int want_value) {
  int status = 0;
  pid_t got = waitpid(pid, &status, WNOHANG);
  EXPECT_OR_FAIL(got == pid, "%s (pid %d): waitpid gave %d: %s\n", what, (int)pid, (int)got, strerror(errno));
  if (got != pid) return;
  if (want_exited) {
    EXPECT_OR_FAIL(WIFEXITED(status) && WEXITSTATUS(status) == want_value, "%s: status %#x, expected exit %d\n", what,
                   status, want_value);
  } else {
    EXPECT_OR_FAIL(WIFSIGNALED(status) && WTERMSIG(status) == want_value, "%s: status %#x, expected signal %d\n", what,
                   status, want_value);
  }
}

int main(void) {
  install_check_handler();
  pid_t exited = fork();
  SETUP_OR_DIE(exited >= 0, "fork: %s\n", strerror(errno));
  if (exited == 0) _exit(7);
  pid_t killed = fork();
  SETUP_OR_DIE(killed >= 0, "fork: %s\n", strerror(errno));
  if (killed == 0) {
    signal(SIGTERM, SIG_DFL);
    raise(SIGTERM);
    _exit(99);
  }
  int handoff[2];
  SETUP_OR_DIE(pipe(handoff) == 0, "pipe: %s\n", strerror(errno));
  pid_t middle = fork();
  SETUP_OR_DIE(middle >= 0, "fork: %s\n", strerror(errno));
  if (middle == 0) {
    pid_t orphan = fork();
    if (orphan == 0) run_orphan();
    ssize_t ignored = write(handoff[1], &orphan, sizeof orphan);
    (void)ignored;
    _exit(0);
  }
  pid_t orphan = 0;
  SETUP_OR_DIE(read(handoff[0], &orphan, sizeof orphan) == sizeof orphan, "read orphan pid\n");
  int status = 0;
  SETUP_OR_DIE(waitpid(middle, &status, 0) == middle, "waitpid(middle): %s\n", strerror(errno));
  // Wait until both zombies are zombies and the orphan has been reparented to us.
  for (int i = 0; i < 2000; ++i) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int a = waitid(P_PID, (id_t)exited, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == exited;
    memset(&info, 0, sizeof info);
    int b = waitid(P_PID, (id_t)killed, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == killed;
    if (a && b) break;
    sleep_ms(1);
  }
  say("READY pid=%d exited=%d killed=%d orphan=%d\n", (int)getpid(), (int)exited, (int)killed, (int)orphan);
  wait_for_check();

  check_zombie(exited, "exited child", 1, 7);
  check_zombie(killed, "killed child", 0, SIGTERM);
  EXPECT_OR_FAIL(kill(orphan, SIGUSR2) == 0, "kill(orphan %d): %s\n", (int)orphan, strerror(errno));
  pid_t got = waitpid(orphan, &status, 0);
  EXPECT_OR_FAIL(got == orphan && WIFEXITED(status) && WEXITSTATUS(status) == 0, "orphan: waitpid %d, status %#x\n", (int)got,
                 status);
  finish();
}
