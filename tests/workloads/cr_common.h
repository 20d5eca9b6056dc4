// Shared by the checkpoint/restore workloads (tests/workloads/cr_*.c), in the zdtm shape:
// a workload sets itself up, prints "READY ..." to stdout (the --log file), waits until the test
// asks it to check itself (SIGUSR1), then prints "FAIL: <reason>" for every problem it finds and
// finally "PASS" (exit 0) or nothing more (exit 1).
//
// Everything here is static and header-only: CMake builds every tests/workloads/*.c into its own
// executable, and this header is not one.
#pragma once

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

// Set by the SIGUSR1 handler: the test asks for the self-check.
static volatile sig_atomic_t check_requested;

// Number of problems this process found; its verdict is PASS only when this stays 0.
static int problems_found;

// Writes one line with a single write(2): processes of one tree share the log's file description,
// and one write per line keeps their lines whole.
__attribute__((format(printf, 1, 2))) static inline void say(const char* format, ...) {
  char line[1024];
  va_list args;
  va_start(args, format);
  int length = vsnprintf(line, sizeof line, format, args);
  va_end(args);
  if (length < 0) return;
  if ((size_t)length >= sizeof line) length = sizeof line - 1;
  const char* at = line;
  while (length > 0) {
    ssize_t written = write(STDOUT_FILENO, at, (size_t)length);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;
    at += written;
    length -= (int)written;
  }
}

// Records a problem: every problem gets its own FAIL line, so a test shows all of them at once.
#define EXPECT_OR_FAIL(condition, ...)  \
  do {                                  \
    if (!(condition)) {                 \
      ++problems_found;                 \
      say("FAIL: " __VA_ARGS__);        \
    }                                   \
  } while (0)

// A setup that did not go as planned makes the whole run meaningless: say so and stop.
#define SETUP_OR_DIE(condition, ...)         \
  do {                                       \
    if (!(condition)) {                      \
      say("FAIL: setup: " __VA_ARGS__);      \
      _exit(1);                              \
    }                                        \
  } while (0)

// The final line of the process that owns the verdict (the tree's init).
static inline void finish(void) {
  if (problems_found == 0) say("PASS\n");
  _exit(problems_found == 0 ? 0 : 1);
}

static inline void on_check_signal(int signo) {
  (void)signo;
  check_requested = 1;
}

// A PID-namespace init only receives signals it has a handler for, so the check signal needs one.
// No SA_RESTART: the wait loop below wants its sleep interrupted.
static inline void install_check_handler(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_check_signal;
  sigemptyset(&action.sa_mask);
  SETUP_OR_DIE(sigaction(SIGUSR1, &action, NULL) == 0, "sigaction(SIGUSR1): %s\n", strerror(errno));
}

static inline void sleep_ms(long ms) {
  struct timespec duration = {ms / 1000, (ms % 1000) * 1000000L};
  // An interrupted sleep (the check signal, or a checkpoint: after restore, an interrupted
  // nanosleep may come back with EINTR) just ends early; callers loop.
  nanosleep(&duration, NULL);
}

static inline void wait_for_check(void) {
  while (!check_requested) sleep_ms(5);
}

// Forks a child that runs `run(report)` and never returns: it writes 'r' to `report` once it is
// ready, checks itself on SIGUSR1 and writes 'P' (passed) or 'F'. Returns the child once it is
// ready; *report_fd is where its verdict comes (expect_child_passes).
static inline pid_t fork_reporting_child(void (*run)(int report), int* report_fd) {
  int report[2];
  SETUP_OR_DIE(pipe(report) == 0, "pipe: %s\n", strerror(errno));
  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) run(report[1]);
  char byte;
  SETUP_OR_DIE(read(report[0], &byte, 1) == 1 && byte == 'r', "the child did not start\n");
  *report_fd = report[0];
  return child;
}

// Asks a child of fork_reporting_child to check itself, and reads its verdict.
static inline void expect_child_passes(pid_t child, int report_fd) {
  kill(child, SIGUSR1);
  char byte;
  EXPECT_OR_FAIL(read(report_fd, &byte, 1) == 1 && byte == 'P', "the child failed its checks\n");
}

// The value of "--name=VALUE" in argv, or `fallback`. Unknown arguments are ignored: the tests
// add "--tag=DIR" so they can find every process of theirs by its command line.
static inline const char* arg_string(int argc, char** argv, const char* name, const char* fallback) {
  size_t name_length = strlen(name);
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (strncmp(arg, "--", 2) == 0 && strncmp(arg + 2, name, name_length) == 0 && arg[2 + name_length] == '=')
      return arg + 3 + name_length;
  }
  return fallback;
}

static inline long long arg_number(int argc, char** argv, const char* name, long long fallback) {
  const char* value = arg_string(argc, argv, name, NULL);
  return value ? strtoll(value, NULL, 0) : fallback;
}

// Clock reading through the vdso (glibc's clock_gettime), in nanoseconds.
static inline int64_t clock_ns(clockid_t clock) {
  struct timespec now;
  clock_gettime(clock, &now);
  return (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
}

// The same clock through the real system call, bypassing the vdso.
static inline int64_t clock_ns_syscall(clockid_t clock) {
  struct timespec now;
  syscall(SYS_clock_gettime, clock, &now);
  return (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
}

// Watches CLOCK_MONOTONIC and CLOCK_BOOTTIME by sampling them often: a checkpoint shows up as one
// large gap between two consecutive samples. The clock policy bounds that gap: `freeze` keeps it
// small, `elapsed` makes it at least the time between dump and restore. A reading that goes
// backwards is always wrong.
struct clock_watch {
  int64_t last[2];
  int64_t max_gap[2];
  int went_backwards[2];
};

static const clockid_t watched_clocks[2] = {CLOCK_MONOTONIC, CLOCK_BOOTTIME};
static const char* const watched_clock_names[2] = {"CLOCK_MONOTONIC", "CLOCK_BOOTTIME"};

static inline void clock_watch_start(struct clock_watch* watch) {
  memset(watch, 0, sizeof *watch);
  for (int i = 0; i < 2; ++i) watch->last[i] = clock_ns(watched_clocks[i]);
}

static inline void clock_watch_sample(struct clock_watch* watch) {
  for (int i = 0; i < 2; ++i) {
    int64_t now = clock_ns(watched_clocks[i]);
    int64_t gap = now - watch->last[i];
    if (gap < 0) watch->went_backwards[i] = 1;
    if (gap > watch->max_gap[i]) watch->max_gap[i] = gap;
    watch->last[i] = now;
  }
}

// Checks the watch against the policy's bounds (milliseconds) and reports the gaps it saw.
static inline void clock_watch_check(const struct clock_watch* watch, const char* who, long long min_jump_ms,
                              long long max_jump_ms) {
  say("%s: largest clock gaps: monotonic %lld ms, boottime %lld ms\n", who,
      (long long)(watch->max_gap[0] / 1000000), (long long)(watch->max_gap[1] / 1000000));
  for (int i = 0; i < 2; ++i) {
    long long gap_ms = watch->max_gap[i] / 1000000;
    EXPECT_OR_FAIL(!watch->went_backwards[i], "%s: %s went backwards\n", who, watched_clock_names[i]);
    EXPECT_OR_FAIL(gap_ms <= max_jump_ms, "%s: %s jumped %lld ms, more than the allowed %lld ms\n", who,
                   watched_clock_names[i], gap_ms, max_jump_ms);
    EXPECT_OR_FAIL(gap_ms >= min_jump_ms, "%s: %s jumped at most %lld ms, less than the expected %lld ms\n", who,
                   watched_clock_names[i], gap_ms, min_jump_ms);
  }
}

// Inside a time namespace the vdso reads its offsets from the [vvar] page that sits at a fixed
// distance from [vdso]; a restore that misplaces it makes the vdso return host time silently.
// The real system call always applies the namespace's offsets, so the two must agree.
static inline void check_vdso_agrees_with_syscall(const char* who) {
  for (int i = 0; i < 2; ++i) {
    int64_t before = clock_ns_syscall(watched_clocks[i]);
    int64_t vdso = clock_ns(watched_clocks[i]);
    int64_t after = clock_ns_syscall(watched_clocks[i]);
    EXPECT_OR_FAIL(vdso >= before - 1000000 && vdso <= after + 1000000,
                   "%s: %s from the vdso (%lld ns) disagrees with the system call (%lld..%lld ns)\n", who,
                   watched_clock_names[i], (long long)vdso, (long long)before, (long long)after);
  }
}

// Deterministic data: xorshift64 from a seed, so a process can regenerate what its memory must hold.
static inline uint64_t xorshift64(uint64_t* state) {
  uint64_t x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *state = x;
}

// The byte at `index` of a simple pattern named by `tag`, for pipe and file contents.
static inline unsigned char pattern_byte(char tag, size_t index) {
  return (unsigned char)(tag * 31 + index * 7 + (index >> 8) * 13);
}

// Reports a problem unless data[0 .. to-from) holds the pattern of `tag` at indexes from .. to.
static inline void check_bytes(const char* who, const char* what, const unsigned char* data, char tag, size_t from, size_t to) {
  size_t bad = 0;
  for (size_t i = from; i < to; ++i) bad += data[i - from] != pattern_byte(tag, i);
  EXPECT_OR_FAIL(bad == 0, "%s: %s: %zu of %zu bytes wrong\n", who, what, bad, to - from);
}
