// Benchmark workload for scale: a tree of many processes, or one process with many eventfds.
//
//   bench_scale PROCS EVENTFDS
//
// Run as the init of a PID namespace (cryo run). The init forks PROCS - 1 sleeping children, each
// with 64 KiB of its own pattern, then opens EVENTFDS eventfd fds: every third one is a dup of the
// one before it (so the dump must find which fds share an open file among thousands of eventfds,
// which all have the same anonymous inode), the others are eventfds of their own, each holding
// a counter that tells it apart (its index + 1). It prints "READY" and waits.
// On SIGUSR1 the init checks every eventfd (its counter, and that a dup still shares it: a write
// through the dup shows in a read through the original, and nothing else changed) and its
// children: each child, woken by SIGUSR2, checks its pid, parent and memory and exits 0 or 1. The
// init prints "PASS" or "FAIL: ..." and forks its children again (so the check can be repeated),
// waiting on. It ends only on SIGKILL.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

enum { CHILD_BYTES = 64 * 1024, FIRST_FD = 100 };

#include "bench_common.h"

static void die(const char* what) {
  char line[256];
  snprintf(line, sizeof line, "FAIL: setup: %s: %s\n", what, strerror(errno));
  say(line);
  exit(1);
}

static unsigned char pattern(long index, size_t i) { return (unsigned char)(index * 131 + i * 7 + 1); }

static void child(long index, pid_t parent) {
  unsigned char* memory = malloc(CHILD_BYTES);
  if (!memory) _exit(2);
  for (size_t i = 0; i < CHILD_BYTES; ++i) memory[i] = pattern(index, i);
  pid_t self = getpid();
  sigset_t wait_set;
  sigemptyset(&wait_set);
  sigaddset(&wait_set, SIGUSR2);
  int signo = 0;
  while (sigwait(&wait_set, &signo) != 0 || signo != SIGUSR2) {
  }
  if (getpid() != self || getppid() != parent) _exit(1);
  for (size_t i = 0; i < CHILD_BYTES; ++i)
    if (memory[i] != pattern(index, i)) _exit(1);
  _exit(0);
}

static void fork_children(pid_t* children, long count) {
  pid_t self = getpid();
  for (long i = 0; i < count; ++i) {
    children[i] = fork();
    if (children[i] < 0) die("fork");
    if (children[i] == 0) child(i, self);
  }
}

static int fd_number(long i) { return FIRST_FD + (int)i; }
static int is_dup(long i) { return i % 3 == 2; }

static void open_eventfds(long count) {
  for (long i = 0; i < count; ++i) {
    int fd = is_dup(i) ? dup(fd_number(i - 1)) : eventfd((unsigned)(i + 1), EFD_NONBLOCK);
    if (fd < 0) die(is_dup(i) ? "dup" : "eventfd");
    if (dup2(fd, fd_number(i)) != fd_number(i)) die("dup2");
    close(fd);
  }
}

static uint64_t take(int fd) {
  uint64_t value = 0;
  return read(fd, &value, sizeof value) == sizeof value ? value : 0;
}

static int put(int fd, uint64_t value) { return write(fd, &value, sizeof value) == sizeof value; }

// Reads every counter (and so empties it), then sets it back. Returns the number of problems.
static long check_eventfds(long count, char* first, size_t size) {
  long bad = 0;
  for (long i = 0; i < count; ++i) {
    if (is_dup(i)) continue;
    int fd = fd_number(i);
    uint64_t want = (uint64_t)i + 1;
    uint64_t got = take(fd);
    int shared = 1;
    if (i + 1 < count && is_dup(i + 1)) {
      // One more through the dup must show through the original, and only there.
      shared = put(fd_number(i + 1), 1) && take(fd) == 1 && take(fd_number(i + 1)) == 0;
    }
    if ((got != want || !shared) && bad++ == 0)
      snprintf(first, size, "fd %d holds %llu, not %llu%s", fd, (unsigned long long)got, (unsigned long long)want,
               shared ? "" : ", and its dup no longer shares it");
    put(fd, want);
  }
  return bad;
}

int main(int argc, char** argv) {
  char* end = NULL;
  long procs = argc == 3 ? strtol(argv[1], &end, 10) : 0;
  if (argc != 3 || procs < 1 || *end != '\0') {
    fprintf(stderr, "usage: bench_scale PROCS EVENTFDS\n");
    return 2;
  }
  long eventfds = strtol(argv[2], &end, 10);
  if (eventfds < 0 || *end != '\0') {
    fprintf(stderr, "usage: bench_scale PROCS EVENTFDS\n");
    return 2;
  }
  // SIGUSR2 stays blocked in the children, which take it with sigwait.
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGUSR2);
  if (sigprocmask(SIG_BLOCK, &blocked, NULL) != 0) die("sigprocmask");
  if (install_check_handler() != 0) die("sigaction");

  long count = procs - 1;
  pid_t* children = calloc((size_t)count + 1, sizeof(pid_t));
  if (!children) die("calloc");
  fork_children(children, count);  // Before the eventfds: the children hold none of them.
  if (eventfds > 0) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) die("getrlimit");
    rlim_t need = (rlim_t)(FIRST_FD + eventfds + 16);
    if (limit.rlim_cur < need) {
      limit.rlim_cur = need;
      if (setrlimit(RLIMIT_NOFILE, &limit) != 0) die("setrlimit(RLIMIT_NOFILE)");
    }
    open_eventfds(eventfds);
  }

  char line[512];
  snprintf(line, sizeof line, "READY procs=%ld eventfds=%ld\n", procs, eventfds);
  say(line);
  for (;;) {
    while (!check_requested) pause();
    check_requested = 0;
    char first[256] = "";
    long bad = check_eventfds(eventfds, first, sizeof first);
    long bad_children = 0;
    for (long i = 0; i < count; ++i) kill(children[i], SIGUSR2);
    for (long i = 0; i < count; ++i) {
      int status = 0;
      if (waitpid(children[i], &status, 0) != children[i] || !WIFEXITED(status) || WEXITSTATUS(status) != 0) ++bad_children;
    }
    if (bad == 0 && bad_children == 0) {
      say("PASS\n");
    } else {
      snprintf(line, sizeof line, "FAIL: %ld of %ld eventfds wrong (first: %s), %ld of %ld children failed their check\n", bad,
               eventfds, first, bad_children, count);
      say(line);
    }
    fork_children(children, count);
  }
}
