// Checkpoint/restore workload: a named FIFO comes back as the pipe it was, at its path, with the
// bytes buffered in it, every fd with its own access mode and flags, shared by parent and child.
//
//   cr_fifo --dir=DIR
//
// The parent makes DIR/fifo (capacity 256 KiB) and holds
//   fd 10  O_RDONLY|O_NONBLOCK  (the reader)
//   fd 11  O_WRONLY             (wrote 100000 pattern bytes, unread)
// then forks a child that opens it again:
//   fd 12  O_WRONLY|O_NONBLOCK  (wrote "child-before;", unread)
//   fd 13  O_RDWR, then O_DIRECT (packet mode) by F_SETFL
// and waits on an anonymous control pipe. On SIGUSR1 the parent checks its flags (as before the dump,
// exactly), that its fds are the FIFO at DIR/fifo, and reads back the buffered bytes in order; then
// it tells the child to go on: the child checks its own flags and that fd 13 sees the same (empty)
// buffer, writes "via-12;" and "via-13;" and exits. The parent reads those, closes its write end,
// and reads end-of-file: every writer is gone.
//
//   cr_fifo --dir=DIR --remade=1
//
// The same, with the FIFO given mode 0640 and owner 1234:4321 before the dump; the test removes it
// between dump and restore, so the check expects a FIFO made again at the path with that mode and
// owner (another inode) instead of the same one.
//
//   cr_fifo --dir=DIR --mode=reader
//
// A daemon's FIFO: the parent alone holds it, read-only (fd 10), with "queued-before;" that a writer
// wrote before it closed. After restore it reads those bytes, then end-of-file (no writer, as before
// the dump), and a new writer that opens the path reaches it.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { READER = 10, WRITER = 11, CHILD_WRITER = 12, CHILD_RDWR = 13, CONTROL_READ = 20, CONTROL_WRITE = 21 };
enum { BIG = 100000, CAPACITY = 256 * 1024 };

static int open_at(const char* path, int flags, int number) {
  int fd = open(path, flags);
  SETUP_OR_DIE(fd >= 0, "open(%s, %#o): %s\n", path, flags, strerror(errno));
  SETUP_OR_DIE(dup2(fd, number) == number, "dup2: %s\n", strerror(errno));
  close(fd);
  return number;
}

static int buffered(int fd) {
  int bytes = -1;
  return ioctl(fd, FIONREAD, &bytes) == 0 ? bytes : -1;
}

// Reads what the non-blocking reader has now.
static size_t drain(int fd, char* buffer, size_t size) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = read(fd, buffer + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  return got;
}

// The child: exit code 0, or the number of the first check that failed.
static int child_main(const char* path, int ready_fd) {
  close(CONTROL_WRITE);
  int write_flags = fcntl(open_at(path, O_WRONLY | O_NONBLOCK, CHILD_WRITER), F_GETFL);
  // Packet mode (O_DIRECT) only F_SETFL gives; nothing is written through it before the dump, whose
  // copy of the buffer would refuse packets.
  if (fcntl(open_at(path, O_RDWR, CHILD_RDWR), F_SETFL, O_DIRECT) != 0) return 9;
  int rdwr_flags = fcntl(CHILD_RDWR, F_GETFL);
  if (write(CHILD_WRITER, "child-before;", 13) != 13) return 10;
  if (write(ready_fd, "r", 1) != 1) return 11;
  close(ready_fd);
  char go = 0;
  ssize_t n;
  while ((n = read(CONTROL_READ, &go, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1 || go != 'g') return 12;
  if (fcntl(CHILD_WRITER, F_GETFL) != write_flags || !(write_flags & O_NONBLOCK) || (write_flags & O_ACCMODE) != O_WRONLY) return 13;
  if (fcntl(CHILD_RDWR, F_GETFL) != rdwr_flags || (rdwr_flags & O_NONBLOCK) || !(rdwr_flags & O_DIRECT) || (rdwr_flags & O_ACCMODE) != O_RDWR)
    return 14;
  if (buffered(CHILD_RDWR) != 0) return 15;  // The parent read everything: one buffer for all.
  if (write(CHILD_WRITER, "via-12;", 7) != 7) return 16;
  if (write(CHILD_RDWR, "via-13;", 7) != 7) return 17;
  if (buffered(CHILD_RDWR) != 14) return 18;
  return 0;
}

// --mode=reader: the FIFO's only fd in the tree is a reader.
static void reader_only(const char* path) {
  int reader_flags = fcntl(open_at(path, O_RDONLY | O_NONBLOCK, READER), F_GETFL);
  int writer = open(path, O_WRONLY | O_NONBLOCK);
  SETUP_OR_DIE(writer >= 0 && write(writer, "queued-before;", 14) == 14, "write: %s\n", strerror(errno));
  close(writer);
  say("READY fifo reader\n");
  wait_for_check();

  EXPECT_OR_FAIL(fcntl(READER, F_GETFL) == reader_flags, "fd %d: flags %#x, were %#x\n", READER, fcntl(READER, F_GETFL), reader_flags);
  char buffer[64];
  size_t got = drain(READER, buffer, sizeof buffer);
  EXPECT_OR_FAIL(got == 14 && memcmp(buffer, "queued-before;", 14) == 0, "read %zu buffered bytes, expected 'queued-before;'\n", got);
  ssize_t end = read(READER, buffer, 1);
  EXPECT_OR_FAIL(end == 0, "no end-of-file without a writer: %zd (%s)\n", end, end < 0 ? strerror(errno) : "data");
  writer = open(path, O_WRONLY | O_NONBLOCK);
  EXPECT_OR_FAIL(writer >= 0, "a new writer cannot open %s: %s\n", path, strerror(errno));
  EXPECT_OR_FAIL(write(writer, "new", 3) == 3, "write through the new writer: %s\n", strerror(errno));
  got = drain(READER, buffer, sizeof buffer);
  EXPECT_OR_FAIL(got == 3 && memcmp(buffer, "new", 3) == 0, "read %zu bytes from the new writer, expected 'new'\n", got);
  finish();
}

int main(int argc, char** argv) {
  install_check_handler();
  const char* dir = arg_string(argc, argv, "dir", NULL);
  SETUP_OR_DIE(dir != NULL, "usage: cr_fifo --dir=DIR [--mode=reader]\n");
  char path[4096];
  snprintf(path, sizeof path, "%s/fifo", dir);
  SETUP_OR_DIE(mkfifo(path, 0600) == 0, "mkfifo(%s): %s\n", path, strerror(errno));
  if (strcmp(arg_string(argc, argv, "mode", ""), "reader") == 0) reader_only(path);
  // A non-blocking read-only open does not wait for a writer; the write-only open then has a reader.
  int reader_flags = fcntl(open_at(path, O_RDONLY | O_NONBLOCK, READER), F_GETFL);
  int writer_flags = fcntl(open_at(path, O_WRONLY, WRITER), F_GETFL);
  SETUP_OR_DIE(fcntl(WRITER, F_SETPIPE_SZ, CAPACITY) >= CAPACITY, "F_SETPIPE_SZ: %s\n", strerror(errno));
  static char big[BIG], buffer[BIG + 100];
  for (size_t i = 0; i < BIG; ++i) big[i] = (char)pattern_byte('f', i);
  SETUP_OR_DIE(write(WRITER, big, BIG) == BIG, "write: %s\n", strerror(errno));

  int control[2], ready[2];
  SETUP_OR_DIE(pipe(control) == 0 && pipe(ready) == 0, "pipe: %s\n", strerror(errno));
  SETUP_OR_DIE(dup2(control[0], CONTROL_READ) == CONTROL_READ && dup2(control[1], CONTROL_WRITE) == CONTROL_WRITE, "dup2: %s\n",
               strerror(errno));
  close(control[0]);
  close(control[1]);
  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) {
    close(READER);
    close(WRITER);
    close(ready[0]);
    _exit(child_main(path, ready[1]));
  }
  close(CONTROL_READ);
  close(ready[1]);
  char byte;
  SETUP_OR_DIE(read(ready[0], &byte, 1) == 1, "the child did not get ready\n");
  close(ready[0]);
  int remade = arg_number(argc, argv, "remade", 0) != 0;
  if (remade)
    SETUP_OR_DIE(chown(path, 1234, 4321) == 0 && chmod(path, 0640) == 0, "chown/chmod(%s): %s\n", path, strerror(errno));
  struct stat before;
  SETUP_OR_DIE(stat(path, &before) == 0, "stat: %s\n", strerror(errno));
  say("READY fifo\n");
  wait_for_check();

  EXPECT_OR_FAIL(fcntl(READER, F_GETFL) == reader_flags, "fd %d: flags %#x, were %#x\n", READER, fcntl(READER, F_GETFL), reader_flags);
  EXPECT_OR_FAIL(fcntl(WRITER, F_GETFL) == writer_flags, "fd %d: flags %#x, were %#x\n", WRITER, fcntl(WRITER, F_GETFL), writer_flags);
  EXPECT_OR_FAIL((reader_flags & O_NONBLOCK) && (reader_flags & O_ACCMODE) == O_RDONLY, "reader flags %#x\n", reader_flags);
  EXPECT_OR_FAIL(!(writer_flags & O_NONBLOCK) && (writer_flags & O_ACCMODE) == O_WRONLY, "writer flags %#x\n", writer_flags);
  struct stat now, held;
  EXPECT_OR_FAIL(stat(path, &now) == 0 && S_ISFIFO(now.st_mode), "%s is no FIFO now\n", path);
  if (remade)
    EXPECT_OR_FAIL(now.st_mode == before.st_mode && now.st_uid == before.st_uid && now.st_gid == before.st_gid,
                   "%s made again with mode %o owner %d:%d, was %o %d:%d\n", path, now.st_mode, (int)now.st_uid, (int)now.st_gid,
                   before.st_mode, (int)before.st_uid, (int)before.st_gid);
  else
    EXPECT_OR_FAIL(now.st_ino == before.st_ino && now.st_dev == before.st_dev, "%s is another FIFO than before the dump\n", path);
  EXPECT_OR_FAIL(fstat(READER, &held) == 0 && held.st_ino == now.st_ino && held.st_dev == now.st_dev, "fd %d is not the FIFO at %s\n",
                 READER, path);
  EXPECT_OR_FAIL(fcntl(WRITER, F_GETPIPE_SZ) == CAPACITY, "capacity %d, expected %d\n", fcntl(WRITER, F_GETPIPE_SZ), CAPACITY);
  EXPECT_OR_FAIL(buffered(READER) == BIG + 13, "%d bytes buffered, expected %d\n", buffered(READER), BIG + 13);

  size_t got = drain(READER, buffer, sizeof buffer);
  EXPECT_OR_FAIL(got == BIG + 13 && memcmp(buffer, big, BIG) == 0 && memcmp(buffer + BIG, "child-before;", 13) == 0,
                 "read %zu buffered bytes, expected the %d pattern bytes then 'child-before;'\n", got, BIG);
  EXPECT_OR_FAIL(read(READER, &byte, 1) < 0 && errno == EAGAIN, "an empty FIFO with writers did not say EAGAIN\n");

  EXPECT_OR_FAIL(write(CONTROL_WRITE, "g", 1) == 1, "write to the child: %s\n", strerror(errno));
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  EXPECT_OR_FAIL(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child failed its check %d (status %#x)\n", WEXITSTATUS(status), status);
  got = drain(READER, buffer, sizeof buffer);
  EXPECT_OR_FAIL(got == 14 && memcmp(buffer, "via-12;via-13;", 14) == 0, "read %zu bytes from the child, expected 'via-12;via-13;'\n", got);
  close(WRITER);
  ssize_t end = read(READER, &byte, 1);
  EXPECT_OR_FAIL(end == 0, "no end-of-file once every writer closed: %zd (%s)\n", end, end < 0 ? strerror(errno) : "data");
  finish();
}
