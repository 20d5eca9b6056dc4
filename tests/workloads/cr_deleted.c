// Checkpoint/restore workload: files deleted while open or mapped, shared by two processes.
//
//   --dir=DIR (empty, on a filesystem with O_TMPFILE)
//   f1 DIR/data-rw: 20000 bytes, open O_RDWR|O_NOFOLLOW at position 7000 (one open file shared with the child),
//                   mapped MAP_SHARED by both, then unlinked.
//   f2 DIR/data-ro: 3000 bytes, open O_RDONLY at position 1234, then unlinked.
//   f3 DIR/lib:     2 pages mapped MAP_PRIVATE read-only, its fd closed, then unlinked (mapping only).
//
// On SIGUSR1 the init checks that each fd reads its old contents at its old position with its old
// access mode, that the files are still unlinked (st_nlink 0, and DIR stays empty) on DIR's
// filesystem, and the mappings' contents; then it writes into f1 with pwrite and pings the child,
// which must see that write in its mapping and answers with a write through its mapping that the
// init must read back with pread.
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { PAGE = 4096, F1_SIZE = 20000, F1_POS = 7000, F2_SIZE = 3000, F2_POS = 1234 };

struct control {
  volatile int ping;
  volatile int pong;
  volatile int child_problems;
  volatile pid_t child;
};

static const char* dir;
static int f1, f2;
static unsigned char *p1, *p3;
static struct control* ctl;

static int make_file(const char* name, char tag, size_t size, int flags) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0640);
  SETUP_OR_DIE(fd >= 0, "create %s: %s\n", path, strerror(errno));
  unsigned char buffer[F1_SIZE];
  for (size_t i = 0; i < size; ++i) buffer[i] = pattern_byte(tag, i);
  SETUP_OR_DIE(pwrite(fd, buffer, size, 0) == (ssize_t)size, "write %s: %s\n", path, strerror(errno));
  close(fd);
  fd = open(path, flags);
  SETUP_OR_DIE(fd >= 0, "open %s: %s\n", path, strerror(errno));
  return fd;
}

static void unlink_file(const char* name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  SETUP_OR_DIE(unlink(path) == 0, "unlink %s: %s\n", path, strerror(errno));
}

static void check_mappings(const char* who) {
  check_bytes(who, "f1 mapping", p1, 'D', 0, F1_SIZE);
  check_bytes(who, "f3 mapping", p3, 'L', 0, 2 * PAGE);
}

static void run_child(void) {
  ctl->child = getpid();
  while (ctl->ping != 1) sleep_ms(1);
  for (size_t i = 0; i < 100; ++i)
    EXPECT_OR_FAIL(p1[100 + i] == 'i', "child: the init's pwrite into f1 is not in the child's mapping\n");
  memset(p1 + 4 * PAGE, 'c', 100);
  ctl->child_problems = problems_found;
  __sync_synchronize();
  ctl->pong = 1;
  for (;;) pause();  // The namespace dies with the init.
}

static void check_fd(const char* name, int fd, char tag, size_t size, off_t pos, int accmode, const struct stat* dir_st) {
  struct stat st;
  SETUP_OR_DIE(fstat(fd, &st) == 0, "fstat: %s\n", strerror(errno));
  EXPECT_OR_FAIL(st.st_nlink == 0, "%s has %lu links: it is no longer deleted\n", name, (unsigned long)st.st_nlink);
  EXPECT_OR_FAIL(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0640, "%s: mode %o\n", name, (unsigned)st.st_mode);
  EXPECT_OR_FAIL(st.st_dev == dir_st->st_dev, "%s is on another filesystem than its directory\n", name);
  EXPECT_OR_FAIL(st.st_size == (off_t)size, "%s is %lld bytes, was %zu\n", name, (long long)st.st_size, size);
  EXPECT_OR_FAIL((fcntl(fd, F_GETFL) & O_ACCMODE) == accmode, "%s: access mode %d, was %d\n", name, fcntl(fd, F_GETFL) & O_ACCMODE, accmode);
  off_t at = lseek(fd, 0, SEEK_CUR);
  EXPECT_OR_FAIL(at == pos, "%s is at position %lld, was %lld\n", name, (long long)at, (long long)pos);
  unsigned char buffer[F1_SIZE];
  EXPECT_OR_FAIL(read(fd, buffer, 10) == 10, "%s: read at its position failed\n", name);
  check_bytes("init", name, buffer, tag, (size_t)pos, (size_t)pos + 10);
  EXPECT_OR_FAIL(pread(fd, buffer, sizeof buffer, 0) == (ssize_t)size, "%s: pread did not return its %zu bytes\n", name, size);
  check_bytes("init", name, buffer, tag, 0, size);
}

int main(int argc, char** argv) {
  install_check_handler();
  dir = arg_string(argc, argv, "dir", NULL);
  SETUP_OR_DIE(dir != NULL, "--dir=DIR is required\n");
  ctl = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  SETUP_OR_DIE(ctl != MAP_FAILED, "mmap: %s\n", strerror(errno));

  // O_NOFOLLOW as shm_open and Python's multiprocessing give it: the open file keeps the flag.
  f1 = make_file("data-rw", 'D', F1_SIZE, O_RDWR | O_NOFOLLOW);
  SETUP_OR_DIE(lseek(f1, F1_POS, SEEK_SET) == F1_POS, "lseek: %s\n", strerror(errno));
  p1 = mmap(NULL, 5 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, f1, 0);
  SETUP_OR_DIE(p1 != MAP_FAILED, "mmap f1: %s\n", strerror(errno));
  f2 = make_file("data-ro", 'E', F2_SIZE, O_RDONLY);
  SETUP_OR_DIE(lseek(f2, F2_POS, SEEK_SET) == F2_POS, "lseek: %s\n", strerror(errno));
  int f3 = make_file("lib", 'L', 2 * PAGE, O_RDONLY);
  p3 = mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE, f3, 0);
  SETUP_OR_DIE(p3 != MAP_FAILED, "mmap f3: %s\n", strerror(errno));
  close(f3);
  unlink_file("data-rw");
  unlink_file("data-ro");
  unlink_file("lib");

  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) run_child();
  for (int i = 0; i < 5000 && ctl->child != child; ++i) sleep_ms(1);
  SETUP_OR_DIE(ctl->child == child, "the child did not start\n");
  say("READY deleted files %d %d, child %d\n", f1, f2, (int)child);
  wait_for_check();

  struct stat dir_st;
  SETUP_OR_DIE(stat(dir, &dir_st) == 0, "stat %s: %s\n", dir, strerror(errno));
  check_fd("f1", f1, 'D', F1_SIZE, F1_POS, O_RDWR, &dir_st);
  check_fd("f2", f2, 'E', F2_SIZE, F2_POS, O_RDONLY, &dir_st);
  check_mappings("init");
  DIR* listing = opendir(dir);
  SETUP_OR_DIE(listing != NULL, "opendir %s: %s\n", dir, strerror(errno));
  for (struct dirent* e; (e = readdir(listing)) != NULL;)
    EXPECT_OR_FAIL(e->d_name[0] == '.', "%s has a new entry '%s': a deleted file got a name\n", dir, e->d_name);
  closedir(listing);

  unsigned char mark[100];
  memset(mark, 'i', sizeof mark);
  EXPECT_OR_FAIL(pwrite(f1, mark, sizeof mark, 100) == 100, "f1: pwrite failed: %s\n", strerror(errno));
  ctl->ping = 1;
  for (int i = 0; i < 5000 && !ctl->pong; ++i) sleep_ms(1);
  EXPECT_OR_FAIL(ctl->pong, "init: the child never answered after restore\n");
  if (ctl->pong) {
    EXPECT_OR_FAIL(ctl->child_problems == 0, "init: the child found %d problems\n", ctl->child_problems);
    unsigned char reply[100];
    EXPECT_OR_FAIL(pread(f1, reply, sizeof reply, 4 * PAGE) == 100, "f1: pread of the reply failed\n");
    size_t bad = 0;
    for (size_t i = 0; i < 100; ++i) bad += reply[i] != 'c';
    EXPECT_OR_FAIL(bad == 0, "init: the child's write through its mapping of f1 is not in the file (%zu bytes wrong)\n", bad);
  }
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  finish();
}
