// Checkpoint/restore workload: file locks come back, so no other process can take them meanwhile.
//
//   cr_locks --dir=DIR
//
//   fd 10  DIR/posix: a POSIX write lock on bytes 5-14 and a read lock from byte 100 to the end
//   fd 11  DIR/flock: flock LOCK_SH
//   fd 12  DIR/ofd:   an OFD write lock on bytes 0-99
//   fd 13  DIR/flock again (another open file): no lock of its own
// On SIGUSR1 a forked child (another process, so every lock of its parent conflicts with its own)
// asks F_GETLK and F_OFD_GETLK about each range and tries flock LOCK_EX on a new open file, and
// reports what it sees; the parent holds the locks throughout.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { POSIX_FD = 10, FLOCK_FD = 11, OFD_FD = 12, FLOCK_OTHER = 13 };

static void open_at(const char* dir, const char* name, int at) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_RDWR | O_CREAT, 0600);
  SETUP_OR_DIE(fd >= 0 && dup2(fd, at) == at, "open %s: %s\n", path, strerror(errno));
  close(fd);
}

static void lock_range(int fd, int command, short type, off_t start, off_t length) {
  struct flock lock = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = length};
  SETUP_OR_DIE(fcntl(fd, command, &lock) == 0, "lock fd %d: %s\n", fd, strerror(errno));
}

// In the child: which lock conflicts with a write lock on [start, start+length).
static struct flock conflict(int fd, int command, off_t start, off_t length) {
  struct flock probe = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = length};
  if (fcntl(fd, command, &probe) != 0) probe.l_type = -1;
  return probe;
}

static void expect_lock(const char* what, struct flock seen, short type, off_t start, off_t length, pid_t owner) {
  EXPECT_OR_FAIL(seen.l_type == type && seen.l_start == start && seen.l_len == length && seen.l_pid == owner,
                 "%s: the child sees type %d on %lld+%lld owned by %d, expected type %d on %lld+%lld owned by %d\n", what,
                 seen.l_type, (long long)seen.l_start, (long long)seen.l_len, (int)seen.l_pid, type, (long long)start,
                 (long long)length, (int)owner);
}

static void check_from_child(const char* dir) {
  pid_t parent = getpid();
  pid_t child = fork();
  if (child == 0) {
    expect_lock("POSIX write lock", conflict(POSIX_FD, F_GETLK, 0, 50), F_WRLCK, 5, 10, parent);
    expect_lock("POSIX read lock", conflict(POSIX_FD, F_GETLK, 200, 1), F_RDLCK, 100, 0, parent);
    expect_lock("no lock between", conflict(POSIX_FD, F_GETLK, 20, 10), F_UNLCK, 20, 10, 0);
    char path[512];
    snprintf(path, sizeof path, "%s/ofd", dir);
    int ofd = open(path, O_RDWR);
    struct flock probe = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 50, .l_len = 1};
    EXPECT_OR_FAIL(fcntl(ofd, F_OFD_GETLK, &probe) == 0 && probe.l_type == F_WRLCK && probe.l_start == 0 && probe.l_len == 100,
                   "OFD lock: the child sees type %d on %lld+%lld\n", probe.l_type, (long long)probe.l_start, (long long)probe.l_len);
    snprintf(path, sizeof path, "%s/flock", dir);
    int other = open(path, O_RDWR);
    EXPECT_OR_FAIL(flock(other, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK, "flock: the child took LOCK_EX (%s)\n", strerror(errno));
    EXPECT_OR_FAIL(flock(other, LOCK_SH | LOCK_NB) == 0, "flock: the child cannot share the lock: %s\n", strerror(errno));
    _exit(problems_found ? 1 : 0);
  }
  int status = 0;
  EXPECT_OR_FAIL(child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                 "the child found problems (status %#x)\n", status);
  // Its own view: fd 13 shares no lock, so it can take a shared flock of its own.
  EXPECT_OR_FAIL(flock(FLOCK_OTHER, LOCK_SH | LOCK_NB) == 0, "flock on fd %d: %s\n", FLOCK_OTHER, strerror(errno));
}

int main(int argc, char** argv) {
  install_check_handler();
  const char* dir = arg_string(argc, argv, "dir", "/tmp");
  open_at(dir, "posix", POSIX_FD);
  open_at(dir, "flock", FLOCK_FD);
  open_at(dir, "ofd", OFD_FD);
  open_at(dir, "flock", FLOCK_OTHER);
  lock_range(POSIX_FD, F_SETLK, F_WRLCK, 5, 10);
  lock_range(POSIX_FD, F_SETLK, F_RDLCK, 100, 0);
  SETUP_OR_DIE(flock(FLOCK_FD, LOCK_SH | LOCK_NB) == 0, "flock: %s\n", strerror(errno));
  lock_range(OFD_FD, F_OFD_SETLK, F_WRLCK, 0, 100);
  say("READY pid=%d\n", (int)getpid());
  wait_for_check();
  check_from_child(dir);
  finish();
}
