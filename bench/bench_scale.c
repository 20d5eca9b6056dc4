// Benchmark workload for scale: a tree of many processes, a process with many threads, or one
// process with many fds.
//
//   bench_scale PROCS EVENTFDS [THREADS [FILES]]
//
// Run as the init of a PID namespace (cryo run). The init forks PROCS - 1 sleeping children, each
// with 64 KiB of its own pattern, then opens EVENTFDS eventfd fds: every third one is a dup of the
// one before it (so the dump must find which fds share an open file among thousands of eventfds,
// which all have the same anonymous inode), the others are eventfds of their own, each holding
// a counter that tells it apart (its index + 1). THREADS - 1 more threads (default none) each wait
// on a condition variable. FILES more fds (default none) follow the eventfds, in turn: the
// workload's own executable opened at a position of its own, /dev/null, the two ends of a pipe
// holding one byte, and a dup of the fd before. It prints "READY" and waits.
// On SIGUSR1 the init checks every eventfd (its counter, and that a dup still shares it: a write
// through the dup shows in a read through the original, and nothing else changed) and its
// children: each child, woken by SIGUSR2, checks its pid, parent and memory and exits 0 or 1. Each
// thread, woken through its condition variable, checks its tid. The files are checked by kind
// (position, access mode, the pipe's byte, that a dup shares its original's position). The
// init prints "PASS" or "FAIL: ..." and forks its children again (so the check can be repeated),
// waiting on. It ends only on SIGKILL.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
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

// --- Threads: each waits for a new round and checks that it is still the thread it was. ---
static pthread_mutex_t round_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t round_changed = PTHREAD_COND_INITIALIZER;
static pthread_cond_t round_done = PTHREAD_COND_INITIALIZER;
static long round_number, threads_started, threads_checked, threads_bad;

static void* thread_main(void* arg) {
  (void)arg;
  pid_t tid = (pid_t)syscall(SYS_gettid);
  pthread_mutex_lock(&round_lock);
  long seen = round_number;
  ++threads_started;
  pthread_cond_signal(&round_done);
  for (;;) {
    while (round_number == seen) pthread_cond_wait(&round_changed, &round_lock);
    seen = round_number;
    if ((pid_t)syscall(SYS_gettid) != tid) ++threads_bad;
    ++threads_checked;
    pthread_cond_signal(&round_done);
  }
  return NULL;
}

static void start_threads(long count) {
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, 64 * 1024) != 0) die("pthread_attr");
  for (long i = 0; i < count; ++i) {
    pthread_t thread;
    int err = pthread_create(&thread, &attr, thread_main, NULL);
    if (err != 0) {
      errno = err;
      die("pthread_create");
    }
  }
  pthread_attr_destroy(&attr);
  // Every thread waits for its first round before READY: a check must find them all waiting.
  pthread_mutex_lock(&round_lock);
  while (threads_started < count) pthread_cond_wait(&round_done, &round_lock);
  pthread_mutex_unlock(&round_lock);
}

// Wakes every thread for a round and returns how many found themselves changed (or did not answer).
static long check_threads(long count) {
  pthread_mutex_lock(&round_lock);
  threads_checked = 0;
  threads_bad = 0;
  ++round_number;
  pthread_cond_broadcast(&round_changed);
  while (threads_checked < count) pthread_cond_wait(&round_done, &round_lock);
  long bad = threads_bad;
  pthread_mutex_unlock(&round_lock);
  return bad;
}

// --- Files after the eventfds: four kinds in turn, a pipe taking two numbers. ---
enum { FILE_EXE, FILE_NULL, FILE_PIPE, FILE_DUP, FILE_KINDS };

static long file_kind(long i) { return i % FILE_KINDS; }

static void open_files(long first, long count) {
  for (long i = 0; i < count; ++i) {
    int target = fd_number(first + i), fd = -1;
    switch (file_kind(i)) {
      case FILE_EXE:
        fd = open("/proc/self/exe", O_RDONLY);
        if (fd >= 0 && lseek(fd, i, SEEK_SET) != i) die("lseek");
        break;
      case FILE_NULL: fd = open("/dev/null", O_WRONLY); break;
      case FILE_PIPE: {
        int ends[2];
        if (i + 1 >= count) {  // No number left for the write end.
          fd = open("/dev/null", O_WRONLY);
          break;
        }
        if (pipe(ends) != 0 || write(ends[1], "p", 1) != 1) die("pipe");
        if (dup2(ends[1], fd_number(first + i + 1)) < 0) die("dup2");
        close(ends[1]);
        fd = ends[0];
        ++i;  // The write end took the next number.
        break;
      }
      default: fd = dup(fd_number(first + i - 1)); break;
    }
    if (fd < 0) die("open");
    if (dup2(fd, target) != target) die("dup2");
    close(fd);
  }
}

// Checks each file by its kind. Returns the number of problems.
static long check_files(long first, long count, char* problem, size_t size) {
  long bad = 0;
  for (long i = 0; i < count; ++i) {
    int fd = fd_number(first + i);
    int ok = 1;
    long kind = file_kind(i);
    if (kind == FILE_PIPE && i + 1 >= count) kind = FILE_NULL;
    switch (kind) {
      case FILE_EXE: ok = lseek(fd, 0, SEEK_CUR) == i && (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY; break;
      case FILE_NULL: ok = (fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY; break;
      case FILE_PIPE: {
        char byte = 0;
        ok = read(fd, &byte, 1) == 1 && byte == 'p' && write(fd_number(first + i + 1), "p", 1) == 1;
        ++i;
        break;
      }
      default: {
        // A dup shares its original's open file: same position, same flags.
        int original = fd_number(first + i - 1);
        ok = lseek(fd, 0, SEEK_CUR) == lseek(original, 0, SEEK_CUR) && fcntl(fd, F_GETFL) == fcntl(original, F_GETFL);
        break;
      }
    }
    if (!ok && bad++ == 0) snprintf(problem, size, "fd %d (file %ld, kind %ld) changed", fd, i, kind);
  }
  return bad;
}

int main(int argc, char** argv) {
  long counts[4] = {0, 0, 1, 0};  // PROCS EVENTFDS THREADS FILES
  for (int i = 1; i < argc && argc >= 3 && argc <= 5; ++i) {
    char* end = NULL;
    counts[i - 1] = strtol(argv[i], &end, 10);
    if (*end != '\0' || counts[i - 1] < 0) counts[0] = 0;
  }
  long procs = counts[0], eventfds = counts[1], threads = counts[2], files = counts[3];
  if (argc < 3 || argc > 5 || procs < 1 || threads < 1) {
    fprintf(stderr, "usage: bench_scale PROCS EVENTFDS [THREADS [FILES]]\n");
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
  if (eventfds + files > 0) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) die("getrlimit");
    rlim_t need = (rlim_t)(FIRST_FD + eventfds + files + 16);
    if (limit.rlim_cur < need) {
      limit.rlim_cur = need;
      if (setrlimit(RLIMIT_NOFILE, &limit) != 0) die("setrlimit(RLIMIT_NOFILE)");
    }
    open_eventfds(eventfds);
    open_files(eventfds, files);
  }
  start_threads(threads - 1);  // After the forks: the children have one thread each.

  char line[1024];
  snprintf(line, sizeof line, "READY procs=%ld eventfds=%ld threads=%ld files=%ld\n", procs, eventfds, threads, files);
  say(line);
  for (;;) {
    while (!check_requested) pause();
    check_requested = 0;
    char first[256] = "";
    long bad = check_eventfds(eventfds, first, sizeof first);
    char first_file[256] = "";
    long bad_files = check_files(eventfds, files, first_file, sizeof first_file);
    long bad_threads = check_threads(threads - 1);
    long bad_children = 0;
    for (long i = 0; i < count; ++i) kill(children[i], SIGUSR2);
    for (long i = 0; i < count; ++i) {
      int status = 0;
      if (waitpid(children[i], &status, 0) != children[i] || !WIFEXITED(status) || WEXITSTATUS(status) != 0) ++bad_children;
    }
    if (bad == 0 && bad_children == 0 && bad_files == 0 && bad_threads == 0) {
      say("PASS\n");
    } else {
      snprintf(line, sizeof line,
               "FAIL: %ld of %ld eventfds wrong (first: %s), %ld of %ld children failed their check, %ld of %ld files wrong "
               "(first: %s), %ld of %ld threads changed\n",
               bad, eventfds, first, bad_children, count, bad_files, files, first_file, bad_threads, threads - 1);
      say(line);
    }
    fork_children(children, count);
  }
}
