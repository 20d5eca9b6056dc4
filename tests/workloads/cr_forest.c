// Checkpoint/restore workload for interrupted dumps: an init and --procs=N children (default 60)
// caught in every kind of moment a freeze can find a thread in, so that a dump interrupted at any
// point (tests/e2e/interrupt_test.cc) shows whether it gave each one back exactly as it was.
//
//   child i, i % 3 == 0   blocked in read() of a pipe that never gets data (a restartable syscall)
//   child i, i % 3 == 1   spinning in user space, with live general and SSE registers: an integer
//                         and a double counter that must stay equal (only the first 4, so as not
//                         to load the machine; the others of this kind sleep like kind 2)
//   child i, i % 3 == 2   sleeping in nanosleep() loops (ERESTART_RESTARTBLOCK)
//
// Every process blocks a signal of its own (SIGRTMIN + i % 8) and fills 64 KiB with its pattern.
// On SIGUSR1 the init sends SIGUSR2 to every child; each checks its signal mask, its memory, its
// counters and how its blocked call ended, and exits 0 (or 1 after its FAIL lines). The init reaps
// them all: a child that died, the way an interrupted dump used to kill them, is a FAIL.
#include <signal.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { MEMORY_BYTES = 64 * 1024 };

static volatile sig_atomic_t stop_requested;

static void on_stop(int signo) {
  (void)signo;
  stop_requested = 1;
}

static unsigned char* fill_memory(char tag) {
  unsigned char* memory = malloc(MEMORY_BYTES);
  SETUP_OR_DIE(memory != NULL, "malloc\n");
  for (size_t i = 0; i < MEMORY_BYTES; ++i) memory[i] = pattern_byte(tag, i);
  return memory;
}

static void block_own_signal(int index) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGRTMIN + index % 8);
  SETUP_OR_DIE(sigprocmask(SIG_BLOCK, &set, NULL) == 0, "sigprocmask: %s\n", strerror(errno));
}

static void check_own_state(const char* who, int index, const unsigned char* memory, char tag) {
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  EXPECT_OR_FAIL(sigismember(&now, SIGRTMIN + index % 8) == 1, "%s: its signal SIGRTMIN+%d is no longer blocked\n", who, index % 8);
  for (int other = 0; other < 8; ++other)
    if (other != index % 8)
      EXPECT_OR_FAIL(sigismember(&now, SIGRTMIN + other) == 0, "%s: SIGRTMIN+%d became blocked\n", who, other);
  EXPECT_OR_FAIL(sigismember(&now, SIGUSR2) == 0, "%s: SIGUSR2 became blocked\n", who);
  check_bytes(who, "memory", memory, tag, 0, MEMORY_BYTES);
}

static void child(int index, int ready_fd) {
  char who[32];
  snprintf(who, sizeof who, "child %d", index);
  char tag = (char)('a' + index % 26);
  unsigned char* memory = fill_memory(tag);
  block_own_signal(index);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_stop;  // No SA_RESTART: the blocked read must end with EINTR.
  sigemptyset(&action.sa_mask);
  SETUP_OR_DIE(sigaction(SIGUSR2, &action, NULL) == 0, "sigaction: %s\n", strerror(errno));
  int never[2];
  SETUP_OR_DIE(pipe(never) == 0, "pipe: %s\n", strerror(errno));
  char byte = 1;
  SETUP_OR_DIE(write(ready_fd, &byte, 1) == 1, "ready: %s\n", strerror(errno));
  close(ready_fd);
  int kind = index % 3 == 1 && index >= 12 ? 2 : index % 3;
  switch (kind) {
    case 0: {
      char buf[1];
      ssize_t got = read(never[0], buf, 1);
      int err = errno;
      EXPECT_OR_FAIL(got == -1 && err == EINTR, "%s: read() returned %zd (errno %d), not EINTR\n", who, got, err);
      break;
    }
    case 1: {
      long n = 0;
      double d = 0;
      // Spinning, but with a pause every 2^18 rounds (about 10% of a CPU each), and only for 5
      // minutes: a tree a killed test left behind must not load the machine for the tests after it.
      int64_t until = clock_ns(CLOCK_MONOTONIC) + 300LL * 1000000000LL;
      while (!stop_requested) {
        ++n;
        d += 1.0;
        if ((double)n != d) {
          EXPECT_OR_FAIL(0, "%s: counters differ: %ld and %.1f\n", who, n, d);
          break;
        }
        if ((n & ((1L << 18) - 1)) == 0) {
          if (clock_ns(CLOCK_MONOTONIC) > until) break;
          sleep_ms(2);
        }
      }
      while (!stop_requested) sleep_ms(3);
      break;
    }
    default:
      while (!stop_requested) sleep_ms(3);
  }
  check_own_state(who, index, memory, tag);
  _exit(problems_found == 0 ? 0 : 1);
}

int main(int argc, char** argv) {
  int procs = (int)arg_number(argc, argv, "procs", 60);
  install_check_handler();
  unsigned char* memory = fill_memory('I');
  pid_t* children = calloc((size_t)procs + 1, sizeof(pid_t));
  int ready[2];
  SETUP_OR_DIE(pipe(ready) == 0, "pipe: %s\n", strerror(errno));
  for (int i = 0; i < procs; ++i) {
    pid_t pid = fork();
    SETUP_OR_DIE(pid >= 0, "fork: %s\n", strerror(errno));
    if (pid == 0) {
      close(ready[0]);
      child(i, ready[1]);
    }
    children[i] = pid;
  }
  close(ready[1]);
  for (int i = 0; i < procs; ++i) {
    char byte;
    SETUP_OR_DIE(read(ready[0], &byte, 1) == 1, "child %d did not get ready\n", i);
  }
  block_own_signal(procs);
  say("READY procs=%d\n", procs);
  wait_for_check();
  for (int i = 0; i < procs; ++i) kill(children[i], SIGUSR2);
  for (int i = 0; i < procs; ++i) {
    int status = 0;
    pid_t got = waitpid(children[i], &status, 0);
    EXPECT_OR_FAIL(got == children[i], "child %d (pid %d): waitpid: %s\n", i, children[i], strerror(errno));
    if (got != children[i]) continue;
    if (WIFSIGNALED(status)) EXPECT_OR_FAIL(0, "child %d (pid %d) was killed by signal %d\n", i, children[i], WTERMSIG(status));
    else EXPECT_OR_FAIL(WEXITSTATUS(status) == 0, "child %d (pid %d) found problems\n", i, children[i]);
  }
  check_own_state("init", procs, memory, 'I');
  finish();
}
