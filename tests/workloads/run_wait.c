// For `cryo run` tests: prints "ready" and waits forever. `run_wait handle` exits 42 on SIGTERM (after
// printing "got SIGTERM"); `run_wait ignore` has no handler, so as a PID-namespace init it ignores
// SIGTERM and only SIGKILL ends it.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void on_sigterm(int signal) {
  (void)signal;
  static const char message[] = "got SIGTERM\n";
  ssize_t ignored = write(STDOUT_FILENO, message, sizeof message - 1);
  (void)ignored;
  _exit(42);
}

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "handle") == 0) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_sigterm;
    sigaction(SIGTERM, &action, NULL);
  }
  printf("ready pid=%d\n", getpid());
  fflush(stdout);
  for (;;) pause();
}
