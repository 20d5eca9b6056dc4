// Checkpoint/restore workload: open files keep their numbers, positions, flags and identity.
//
//   cr_files --dir=DIR
//
// In DIR (its cwd from then on) it creates and opens:
//   fd 10  data.bin (65536 pattern bytes) O_RDONLY, read up to offset 12345
//   fd 11  append.log O_WRONLY|O_APPEND, two lines written
//   fd 12  rw.bin (8192 zero bytes) O_RDWR, positioned at 4096, FD_CLOEXEC
//   fd 13  /dev/null O_WRONLY
//   fd 14  DIR itself, O_RDONLY|O_DIRECTORY
//   fd 15  dup(10): shares fd 10's file description, so its position moves with it
// On SIGUSR1 it checks the cwd, that exactly fds 0-2 and 10-15 are open, and each fd: reading fd 10
// continues with the bytes at 12345, a line appended through fd 11 lands after the two others,
// "XYZ" written through fd 12 lands at 4096, fd 13 is /dev/null, fd 14 is DIR.
// The test that changes data.bin after a dump uses the file name printed in READY.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "cr_common.h"

enum { DATA_SIZE = 65536, DATA_POSITION = 12345, READ_AFTER = 1000, RW_SIZE = 8192, RW_POSITION = 4096 };
enum { FD_DATA = 10, FD_APPEND = 11, FD_RW = 12, FD_NULL = 13, FD_DIR = 14, FD_DATA_DUP = 15 };

static const char kAppendBefore[] = "line 1\nline 2\n";
static const char kAppendAfter[] = "line 3 after restore\n";

// Opens `path` and moves the descriptor to `number`.
static void open_at(int number, const char* path, int flags, mode_t mode) {
  int fd = open(path, flags, mode);
  SETUP_OR_DIE(fd >= 0, "open %s: %s\n", path, strerror(errno));
  SETUP_OR_DIE(dup2(fd, number) == number, "dup2 %s to %d: %s\n", path, number, strerror(errno));
  close(fd);
}

static void write_file(const char* path, const unsigned char* data, size_t size) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  SETUP_OR_DIE(fd >= 0, "create %s: %s\n", path, strerror(errno));
  SETUP_OR_DIE(write(fd, data, size) == (ssize_t)size, "write %s: %s\n", path, strerror(errno));
  close(fd);
}

static size_t read_file(const char* path, char* buffer, size_t size) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return 0;
  ssize_t got = read(fd, buffer, size);
  close(fd);
  return got > 0 ? (size_t)got : 0;
}

static off_t position(int fd) { return lseek(fd, 0, SEEK_CUR); }

// Exactly the descriptors this process opened, nothing a restore forgot to close.
static void check_open_fds(void) {
  DIR* listing = opendir("/proc/self/fd");
  EXPECT_OR_FAIL(listing != NULL, "opendir /proc/self/fd: %s\n", strerror(errno));
  if (!listing) return;
  int expected[] = {0, 1, 2, FD_DATA, FD_APPEND, FD_RW, FD_NULL, FD_DIR, FD_DATA_DUP};
  int seen[sizeof expected / sizeof expected[0]] = {0};
  struct dirent* entry;
  while ((entry = readdir(listing)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    int fd = atoi(entry->d_name);
    if (fd == dirfd(listing)) continue;
    int known = 0;
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; ++i)
      if (expected[i] == fd) known = seen[i] = 1;
    if (!known) {
      char target[256] = "?";
      char link[64];
      snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
      ssize_t length = readlink(link, target, sizeof target - 1);
      if (length > 0) target[length] = 0;
      EXPECT_OR_FAIL(0, "fd %d (%s) is open but this process never opened it\n", fd, target);
    }
  }
  closedir(listing);
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; ++i)
    EXPECT_OR_FAIL(seen[i], "fd %d is not open\n", expected[i]);
}

int main(int argc, char** argv) {
  install_check_handler();
  // Start from exactly fds 0-2 whatever the launcher passed on, so the set checked later is ours.
  SETUP_OR_DIE(syscall(SYS_close_range, 3, ~0U, 0) == 0, "close_range: %s\n", strerror(errno));
  const char* dir = arg_string(argc, argv, "dir", NULL);
  SETUP_OR_DIE(dir != NULL, "usage: cr_files --dir=DIR\n");
  SETUP_OR_DIE(chdir(dir) == 0, "chdir %s: %s\n", dir, strerror(errno));
  char cwd[4096];
  SETUP_OR_DIE(getcwd(cwd, sizeof cwd) != NULL, "getcwd: %s\n", strerror(errno));
  struct stat dir_stat;
  SETUP_OR_DIE(stat(".", &dir_stat) == 0, "stat %s: %s\n", cwd, strerror(errno));

  static unsigned char data[DATA_SIZE];
  for (size_t i = 0; i < sizeof data; ++i) data[i] = pattern_byte('F', i);
  write_file("data.bin", data, sizeof data);
  open_at(FD_DATA, "data.bin", O_RDONLY, 0);
  static unsigned char buffer[DATA_SIZE];
  SETUP_OR_DIE(read(FD_DATA, buffer, DATA_POSITION) == DATA_POSITION, "read data.bin: %s\n", strerror(errno));
  SETUP_OR_DIE(dup2(FD_DATA, FD_DATA_DUP) == FD_DATA_DUP, "dup2: %s\n", strerror(errno));

  open_at(FD_APPEND, "append.log", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  SETUP_OR_DIE(write(FD_APPEND, kAppendBefore, 7) == 7 && write(FD_APPEND, kAppendBefore + 7, 7) == 7,
               "write append.log: %s\n", strerror(errno));

  static const unsigned char zeros[RW_SIZE];
  write_file("rw.bin", zeros, sizeof zeros);
  open_at(FD_RW, "rw.bin", O_RDWR, 0);
  SETUP_OR_DIE(lseek(FD_RW, RW_POSITION, SEEK_SET) == RW_POSITION, "lseek rw.bin: %s\n", strerror(errno));
  SETUP_OR_DIE(fcntl(FD_RW, F_SETFD, FD_CLOEXEC) == 0, "F_SETFD: %s\n", strerror(errno));

  open_at(FD_NULL, "/dev/null", O_WRONLY, 0);
  open_at(FD_DIR, ".", O_RDONLY | O_DIRECTORY, 0);

  say("READY pid=%d dir=%s changed-file=%s/data.bin\n", (int)getpid(), cwd, cwd);
  wait_for_check();

  char cwd_after[4096];
  EXPECT_OR_FAIL(getcwd(cwd_after, sizeof cwd_after) != NULL && strcmp(cwd_after, cwd) == 0,
                 "cwd is %s, was %s\n", cwd_after, cwd);
  check_open_fds();

  // fd 10 and its duplicate fd 15.
  EXPECT_OR_FAIL(position(FD_DATA) == DATA_POSITION, "data.bin fd %d at offset %lld, was %d\n", FD_DATA,
                 (long long)position(FD_DATA), DATA_POSITION);
  EXPECT_OR_FAIL((fcntl(FD_DATA, F_GETFL) & O_ACCMODE) == O_RDONLY, "data.bin fd %d is not O_RDONLY\n", FD_DATA);
  ssize_t got = read(FD_DATA, buffer, READ_AFTER);
  EXPECT_OR_FAIL(got == READ_AFTER, "read data.bin after restore: %zd (%s)\n", got, strerror(errno));
  if (got == READ_AFTER)
    EXPECT_OR_FAIL(memcmp(buffer, data + DATA_POSITION, READ_AFTER) == 0,
                   "data.bin: the bytes read after restore are not those at offset %d\n", DATA_POSITION);
  EXPECT_OR_FAIL(position(FD_DATA_DUP) == DATA_POSITION + READ_AFTER,
                 "fd %d (dup of fd %d) at offset %lld, not %d: the two no longer share one open file\n", FD_DATA_DUP,
                 FD_DATA, (long long)position(FD_DATA_DUP), DATA_POSITION + READ_AFTER);

  // fd 11: O_APPEND keeps appending at the end.
  EXPECT_OR_FAIL(fcntl(FD_APPEND, F_GETFL) & O_APPEND, "append.log fd %d lost O_APPEND\n", FD_APPEND);
  EXPECT_OR_FAIL(write(FD_APPEND, kAppendAfter, strlen(kAppendAfter)) == (ssize_t)strlen(kAppendAfter),
                 "write append.log: %s\n", strerror(errno));
  char appended[256] = {0};
  read_file("append.log", appended, sizeof appended - 1);
  EXPECT_OR_FAIL(strcmp(appended, "line 1\nline 2\nline 3 after restore\n") == 0, "append.log holds '%s'\n", appended);

  // fd 12: read-write at its position, close-on-exec kept.
  EXPECT_OR_FAIL(position(FD_RW) == RW_POSITION, "rw.bin fd %d at offset %lld, was %d\n", FD_RW,
                 (long long)position(FD_RW), RW_POSITION);
  EXPECT_OR_FAIL((fcntl(FD_RW, F_GETFL) & O_ACCMODE) == O_RDWR, "rw.bin fd %d is not O_RDWR\n", FD_RW);
  EXPECT_OR_FAIL(fcntl(FD_RW, F_GETFD) == FD_CLOEXEC, "rw.bin fd %d: FD_CLOEXEC is %d\n", FD_RW, fcntl(FD_RW, F_GETFD));
  EXPECT_OR_FAIL(write(FD_RW, "XYZ", 3) == 3, "write rw.bin: %s\n", strerror(errno));
  char rw[RW_SIZE + 16];
  size_t rw_size = read_file("rw.bin", rw, sizeof rw);
  EXPECT_OR_FAIL(rw_size == RW_SIZE && memcmp(rw + RW_POSITION, "XYZ", 3) == 0 && rw[RW_POSITION - 1] == 0,
                 "rw.bin: XYZ did not land at offset %d (size %zu)\n", RW_POSITION, rw_size);
  EXPECT_OR_FAIL(fcntl(FD_DATA, F_GETFD) == 0, "data.bin fd %d gained FD_CLOEXEC\n", FD_DATA);

  // fd 13 and 14.
  struct stat st;
  EXPECT_OR_FAIL(fstat(FD_NULL, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3),
                 "fd %d is not /dev/null\n", FD_NULL);
  EXPECT_OR_FAIL(write(FD_NULL, "x", 1) == 1, "write /dev/null: %s\n", strerror(errno));
  EXPECT_OR_FAIL(fstat(FD_DIR, &st) == 0 && S_ISDIR(st.st_mode) && st.st_ino == dir_stat.st_ino &&
                     st.st_dev == dir_stat.st_dev,
                 "fd %d is not the directory %s\n", FD_DIR, cwd);
  finish();
}
