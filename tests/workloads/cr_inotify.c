// Checkpoint/restore workload: inotify fds keep their watches, under the same wds, with their masks
// and flags, and nothing is queued on them after restore.
//
//   cr_inotify --dir=DIR [--fork]
//
// fd 10 is inotify_init1(IN_CLOEXEC), blocking, with watches
//   1 DIR/w (IN_CREATE | IN_DELETE)            2 DIR/b, removed
//   3 DIR/w/a (IN_MODIFY | IN_CLOSE_WRITE)     4 DIR/c (IN_ATTRIB)
//   5 DIR/b again (IN_OPEN)                    6 DIR/d, removed
//   7 DIR/e (IN_MODIFY)
// so its numbers have two gaps, and the IN_IGNORED events of the removals were read before the dump.
// fd 11 is inotify_init1(IN_NONBLOCK) with 1 DIR/w/a (IN_ACCESS | IN_ONESHOT) and 2 DIR/w
// (IN_CREATE | IN_EXCL_UNLINK). On SIGUSR1 it checks the flags, that both queues are empty, then
// makes one event for each watch and reads it back with its wd, mask and name, and finally that a
// new watch on fd 10 gets wd 8 and that both queues are empty again. With --fork, a child holds
// both fds too (one open file, so one inotify instance, restored once for both): the new watch shows
// in the child's fdinfo of fd 10.
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "cr_common.h"

enum { FD_A = 10, FD_B = 11 };

static char dir[256];

static const char* in(const char* name) {
  static char paths[8][512];
  static int next;
  char* path = paths[next++ % 8];
  snprintf(path, sizeof paths[0], "%s/%s", dir, name);
  return path;
}

static int watch(int fd, const char* name, uint32_t mask) {
  int wd = inotify_add_watch(fd, in(name), mask);
  SETUP_OR_DIE(wd > 0, "inotify_add_watch(%s): %s\n", name, strerror(errno));
  return wd;
}

static int queued(int fd) {
  int bytes = -1;
  if (ioctl(fd, FIONREAD, &bytes) != 0) return -1;
  return bytes;
}

// Reads the removal's IN_IGNORED off fd, so the dump sees an empty queue.
static void unwatch(int fd, int wd) {
  SETUP_OR_DIE(inotify_rm_watch(fd, wd) == 0, "inotify_rm_watch(%d): %s\n", wd, strerror(errno));
  union {
    struct inotify_event event;
    char bytes[sizeof(struct inotify_event) + 256];
  } buffer;
  ssize_t got = read(fd, &buffer, sizeof buffer);
  SETUP_OR_DIE(got >= (ssize_t)sizeof buffer.event && buffer.event.wd == wd && buffer.event.mask == IN_IGNORED,
               "no IN_IGNORED for removed wd %d\n", wd);
}

// Reads one event (waiting up to 2 s) and checks it is (wd, mask, name).
static void expect_event(int fd, int wd, uint32_t mask, const char* name, const char* what) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  if (poll(&p, 1, 2000) != 1) {
    EXPECT_OR_FAIL(0, "%s: no event on fd %d (expected wd %d mask %#x)\n", what, fd, wd, mask);
    return;
  }
  union {
    struct inotify_event event;
    char bytes[sizeof(struct inotify_event) + 256];
  } buffer;
  // One event only: its size is that of the header and its name.
  size_t size = sizeof buffer.event + (name ? 16 * ((strlen(name) + 16) / 16) : 0);
  ssize_t got = read(fd, &buffer, size);
  if (got < (ssize_t)sizeof buffer.event) {
    EXPECT_OR_FAIL(0, "%s: read fd %d: %s\n", what, fd, got < 0 ? strerror(errno) : "short");
    return;
  }
  const char* got_name = buffer.event.len ? buffer.event.name : "";
  EXPECT_OR_FAIL(buffer.event.wd == wd && buffer.event.mask == mask && strcmp(got_name, name ? name : "") == 0,
                 "%s: fd %d got wd %d mask %#x name '%s', expected wd %d mask %#x name '%s'\n", what, fd, buffer.event.wd,
                 buffer.event.mask, got_name, wd, mask, name ? name : "");
}

static void make_file(const char* name) {
  int fd = open(in(name), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  SETUP_OR_DIE(fd >= 0, "create %s: %s\n", name, strerror(errno));
  close(fd);
}

static void append(const char* name) {
  int fd = open(in(name), O_WRONLY | O_APPEND);
  EXPECT_OR_FAIL(fd >= 0 && write(fd, "x", 1) == 1, "write %s: %s\n", name, strerror(errno));
  if (fd >= 0) close(fd);
}

// Whether /proc/PID/fdinfo/FD lists a watch "inotify wd:WD " (the wd in hex).
static int lists_watch(pid_t pid, int fd, int wd) {
  char path[64], text[4096] = {0}, want[32];
  snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)pid, fd);
  int info = open(path, O_RDONLY);
  if (info < 0) return 0;
  ssize_t got = read(info, text, sizeof text - 1);
  (void)got;
  close(info);
  snprintf(want, sizeof want, "inotify wd:%x ", wd);
  return strstr(text, want) != NULL;
}

int main(int argc, char** argv) {
  install_check_handler();
  int fork_child = 0;
  for (int i = 1; i < argc; ++i) {
    if (strncmp(argv[i], "--dir=", 6) == 0) snprintf(dir, sizeof dir, "%s", argv[i] + 6);
    if (strcmp(argv[i], "--fork") == 0) fork_child = 1;
  }
  SETUP_OR_DIE(dir[0] == '/', "usage: cr_inotify --dir=DIR\n");
  SETUP_OR_DIE(mkdir(in("w"), 0700) == 0, "mkdir: %s\n", strerror(errno));
  make_file("w/a");
  make_file("b");
  make_file("c");
  make_file("d");
  make_file("e");

  int a = inotify_init1(IN_CLOEXEC), b = inotify_init1(IN_NONBLOCK);
  SETUP_OR_DIE(a >= 0 && b >= 0, "inotify_init1: %s\n", strerror(errno));
  SETUP_OR_DIE(dup3(a, FD_A, O_CLOEXEC) == FD_A && dup2(b, FD_B) == FD_B, "dup: %s\n", strerror(errno));
  close(a);
  close(b);
  SETUP_OR_DIE(watch(FD_A, "w", IN_CREATE | IN_DELETE) == 1, "wd 1\n");
  SETUP_OR_DIE(watch(FD_A, "b", IN_MODIFY) == 2, "wd 2\n");
  SETUP_OR_DIE(watch(FD_A, "w/a", IN_MODIFY | IN_CLOSE_WRITE) == 3, "wd 3\n");
  SETUP_OR_DIE(watch(FD_A, "c", IN_ATTRIB) == 4, "wd 4\n");
  unwatch(FD_A, 2);
  SETUP_OR_DIE(watch(FD_A, "b", IN_OPEN) == 5, "wd 5\n");
  SETUP_OR_DIE(watch(FD_A, "d", IN_MODIFY) == 6, "wd 6\n");
  unwatch(FD_A, 6);
  SETUP_OR_DIE(watch(FD_A, "e", IN_MODIFY) == 7, "wd 7\n");
  SETUP_OR_DIE(watch(FD_B, "w/a", IN_ACCESS | IN_ONESHOT) == 1, "fd 11 wd 1\n");
  SETUP_OR_DIE(watch(FD_B, "w", IN_CREATE | IN_EXCL_UNLINK) == 2, "fd 11 wd 2\n");
  SETUP_OR_DIE(queued(FD_A) == 0 && queued(FD_B) == 0, "events queued before the dump\n");
  pid_t child = 0;
  if (fork_child) {
    child = fork();
    SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
    if (child == 0) {
      for (;;) pause();
    }
  }
  say("READY inotify\n");
  wait_for_check();

  EXPECT_OR_FAIL(!(fcntl(FD_A, F_GETFL) & O_NONBLOCK) && (fcntl(FD_A, F_GETFD) & FD_CLOEXEC), "fd %d flags changed\n", FD_A);
  EXPECT_OR_FAIL((fcntl(FD_B, F_GETFL) & O_NONBLOCK) && !(fcntl(FD_B, F_GETFD) & FD_CLOEXEC), "fd %d flags changed\n", FD_B);
  EXPECT_OR_FAIL(queued(FD_A) == 0, "fd %d has %d bytes of events queued after restore (an IN_IGNORED?)\n", FD_A, queued(FD_A));
  EXPECT_OR_FAIL(queued(FD_B) == 0, "fd %d has %d bytes of events queued after restore\n", FD_B, queued(FD_B));

  make_file("w/new");
  expect_event(FD_A, 1, IN_CREATE, "new", "create in w");
  expect_event(FD_B, 2, IN_CREATE, "new", "create in w");
  append("w/a");
  expect_event(FD_A, 3, IN_MODIFY, NULL, "write w/a");
  expect_event(FD_A, 3, IN_CLOSE_WRITE, NULL, "close w/a");
  EXPECT_OR_FAIL(chmod(in("c"), 0640) == 0, "chmod: %s\n", strerror(errno));
  expect_event(FD_A, 4, IN_ATTRIB, NULL, "chmod c");
  int opened = open(in("b"), O_RDONLY);
  EXPECT_OR_FAIL(opened >= 0, "open b: %s\n", strerror(errno));
  if (opened >= 0) close(opened);
  expect_event(FD_A, 5, IN_OPEN, NULL, "open b");
  append("e");
  expect_event(FD_A, 7, IN_MODIFY, NULL, "write e");
  append("d");  // Its watch was removed before the dump: no event.
  char byte;
  opened = open(in("w/a"), O_RDONLY);
  EXPECT_OR_FAIL(opened >= 0 && read(opened, &byte, 1) == 1, "read w/a: %s\n", strerror(errno));
  if (opened >= 0) close(opened);
  expect_event(FD_B, 1, IN_ACCESS, NULL, "read w/a");
  expect_event(FD_B, 1, IN_IGNORED, NULL, "the one-shot watch ends");
  // The kernel hands out the number after the last one given: 8, as before the dump.
  int next = inotify_add_watch(FD_A, in("d"), IN_MODIFY);
  EXPECT_OR_FAIL(next == 8, "a new watch on fd %d got wd %d, expected 8\n", FD_A, next);
  if (child > 0) {
    EXPECT_OR_FAIL(lists_watch(child, FD_A, 8) && lists_watch(child, FD_A, 7) && !lists_watch(child, FD_A, 2),
                   "the child's fd %d is not the same inotify instance with the same watches\n", FD_A);
    EXPECT_OR_FAIL(lists_watch(child, FD_B, 2) && !lists_watch(child, FD_B, 1), "the child's fd %d is not the parent's\n", FD_B);
    kill(child, SIGKILL);
  }
  EXPECT_OR_FAIL(queued(FD_A) == 0, "fd %d has %d bytes of events queued at the end\n", FD_A, queued(FD_A));
  EXPECT_OR_FAIL(queued(FD_B) == 0, "fd %d has %d bytes of events queued at the end\n", FD_B, queued(FD_B));
  finish();
}
