// Checkpoint/restore workload: a fanotify fd keeps its group flags and inode marks, nothing is
// queued on it after restore, and a change of a marked file afterwards gives its event.
//
//   cr_fanotify --dir=DIR [--fork]
//
// fd 10 is fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE), blocking, with marks
// on DIR/f (FAN_MODIFY | FAN_CLOSE_WRITE) and DIR/g (FAN_OPEN). On SIGUSR1 it checks its fd flags,
// that the queue is empty, then writes DIR/f and opens DIR/g and reads the events back: each names
// the marked file (the event's fd is that inode), with the mask of its mark, and no other arrives.
// With --fork, a child holds fd 10 too (one open file, so one group, restored once for both): it
// must still be the init's open file, whose marks its fdinfo lists.
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <linux/kcmp.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { FD_GROUP = 10 };

static char dir[256];

static const char* in(const char* name) {
  static char paths[4][512];
  static int next;
  char* path = paths[next++ % 4];
  snprintf(path, sizeof paths[0], "%s/%s", dir, name);
  return path;
}

static int queued(void) {
  int bytes = -1;
  if (ioctl(FD_GROUP, FIONREAD, &bytes) != 0) return -1;
  return bytes;
}

// Reads events (waiting up to 2 s for the first) until `want` bits arrived for the file `name`.
static void expect_events(const char* name, uint64_t want) {
  struct stat marked;
  SETUP_OR_DIE(stat(in(name), &marked) == 0, "stat %s: %s\n", name, strerror(errno));
  uint64_t seen = 0;
  while ((seen & want) != want) {
    struct pollfd p = {.fd = FD_GROUP, .events = POLLIN};
    if (poll(&p, 1, 2000) != 1) {
      EXPECT_OR_FAIL(0, "%s: only mask %#llx arrived, expected %#llx\n", name, (unsigned long long)seen, (unsigned long long)want);
      return;
    }
    union {
      struct fanotify_event_metadata event;
      char bytes[4096];
    } buffer;
    ssize_t got = read(FD_GROUP, &buffer, sizeof buffer);
    ssize_t left = got;  // FAN_EVENT_NEXT counts it down.
    for (struct fanotify_event_metadata* e = &buffer.event; left > 0 && FAN_EVENT_OK(e, left); e = FAN_EVENT_NEXT(e, left)) {
      struct stat st;
      int same = e->fd >= 0 && fstat(e->fd, &st) == 0 && st.st_dev == marked.st_dev && st.st_ino == marked.st_ino;
      EXPECT_OR_FAIL(same, "%s: an event (mask %#llx) on another file\n", name, (unsigned long long)e->mask);
      EXPECT_OR_FAIL((e->mask & ~want) == 0, "%s: unexpected event bits %#llx\n", name, (unsigned long long)(e->mask & ~want));
      if (e->fd >= 0) close(e->fd);
      seen |= e->mask;
    }
    if (got <= 0) {
      EXPECT_OR_FAIL(0, "read fanotify: %s\n", got < 0 ? strerror(errno) : "nothing");
      return;
    }
  }
}

int main(int argc, char** argv) {
  snprintf(dir, sizeof dir, "%s", arg_string(argc, argv, "dir", "/tmp"));
  install_check_handler();
  static const char* const files[] = {"f", "g"};
  for (int i = 0; i < 2; ++i) {
    const char* name = files[i];
    int made = open(in(name), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    SETUP_OR_DIE(made >= 0, "create %s: %s\n", name, strerror(errno));
    close(made);
  }
  int fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE);
  SETUP_OR_DIE(fd >= 0, "fanotify_init: %s\n", strerror(errno));
  SETUP_OR_DIE(dup2(fd, FD_GROUP) == FD_GROUP && fcntl(FD_GROUP, F_SETFD, FD_CLOEXEC) == 0, "dup2: %s\n", strerror(errno));
  close(fd);
  SETUP_OR_DIE(fanotify_mark(FD_GROUP, FAN_MARK_ADD, FAN_MODIFY | FAN_CLOSE_WRITE, AT_FDCWD, in("f")) == 0, "fanotify_mark f: %s\n",
               strerror(errno));
  SETUP_OR_DIE(fanotify_mark(FD_GROUP, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, in("g")) == 0, "fanotify_mark g: %s\n", strerror(errno));
  pid_t child = 0;
  for (int i = 1; i < argc; ++i)
    if (strcmp(argv[i], "--fork") == 0) {
      child = fork();
      SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
      if (child == 0)
        for (;;) pause();
    }
  say("READY fanotify\n");
  wait_for_check();

  EXPECT_OR_FAIL(fcntl(FD_GROUP, F_GETFD) == FD_CLOEXEC, "fd %d lost FD_CLOEXEC\n", FD_GROUP);
  EXPECT_OR_FAIL((fcntl(FD_GROUP, F_GETFL) & O_NONBLOCK) == 0, "fd %d became non-blocking\n", FD_GROUP);
  EXPECT_OR_FAIL(queued() == 0, "%d bytes of events queued before anything changed\n", queued());
  int f = open(in("f"), O_WRONLY);
  EXPECT_OR_FAIL(f >= 0 && write(f, "x", 1) == 1, "write f: %s\n", strerror(errno));
  if (f >= 0) close(f);
  expect_events("f", FAN_MODIFY | FAN_CLOSE_WRITE);
  int g = open(in("g"), O_RDONLY);
  EXPECT_OR_FAIL(g >= 0, "open g: %s\n", strerror(errno));
  if (g >= 0) close(g);
  expect_events("g", FAN_OPEN);
  if (child > 0) {
    EXPECT_OR_FAIL(syscall(SYS_kcmp, getpid(), child, KCMP_FILE, FD_GROUP, FD_GROUP) == 0, "the child's fd %d is not the init's\n", FD_GROUP);
    char path[64], text[4096] = "";
    snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", child, FD_GROUP);
    int info = open(path, O_RDONLY);
    ssize_t got = info >= 0 ? read(info, text, sizeof text - 1) : -1;
    if (info >= 0) close(info);
    int marks = 0;
    for (char* at = text; got > 0 && (at = strstr(at, "fanotify ino:")) != NULL; ++at) ++marks;
    EXPECT_OR_FAIL(marks == 2, "the child's fdinfo of fd %d lists %d marks, not 2\n", FD_GROUP, marks);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
  }
  sleep_ms(50);
  EXPECT_OR_FAIL(queued() == 0, "%d bytes of events queued after the expected ones\n", queued());
  finish();
}
