// Checkpoint/restore workload: memfds as fds and as mappings, shared by two processes after fork.
//
//   m1 "cryo-test":    3 pages + 100 bytes of data, sealed F_SEAL_SHRINK|F_SEAL_GROW, fd at position
//                      5000 (one open file shared with the child), mapped MAP_SHARED by both.
//   m2 "cryo-private": 2 pages, made without MFD_ALLOW_SEALING (so it reads F_SEAL_SEAL), mapped
//                      MAP_PRIVATE; page 0 of the mapping was written (a private copy), the file not.
//   m3 "cryo-sealed":  1000 bytes, sealed F_SEAL_WRITE|F_SEAL_SEAL, fd only.
//   m4 "cryo-mapped":  2 pages mapped MAP_SHARED by both, its fd closed: a mapping-only memfd; page 1
//                      holds the control block the two processes talk through.
//
// On SIGUSR1 the init checks contents, size, seals (and that they still apply), names, position and
// flags, then pings the child, which checks its own view and writes a reply into m1 and m4 through
// its mappings; the init must see both replies (m1's through read(2) on its fd).
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { PAGE = 4096, M1_SIZE = 3 * PAGE + 100, M1_POS = 5000, M3_SIZE = 1000 };

struct control {
  volatile int ping;
  volatile int pong;
  volatile int child_problems;
  volatile pid_t child;
};

static int m1, m2, m3;
static unsigned char *p1, *p2, *p4;
static struct control* ctl;

static int memfd(const char* name, unsigned flags, char tag, size_t size) {
  int fd = memfd_create(name, flags);
  SETUP_OR_DIE(fd >= 0, "memfd_create(%s): %s\n", name, strerror(errno));
  unsigned char buffer[4 * PAGE];
  for (size_t i = 0; i < size; ++i) buffer[i] = pattern_byte(tag, i);
  SETUP_OR_DIE(pwrite(fd, buffer, size, 0) == (ssize_t)size, "pwrite(%s): %s\n", name, strerror(errno));
  return fd;
}

static void check_mappings(const char* who) {
  check_bytes(who, "m1 mapping", p1, 'M', 0, M1_SIZE);
  EXPECT_OR_FAIL(p2[0] == 'X' && p2[PAGE - 1] == 'X', "%s: m2's private page lost its private contents\n", who);
  check_bytes(who, "m2 mapping page 1", p2 + PAGE, 'Q', PAGE, 2 * PAGE);
  check_bytes(who, "m4 mapping page 0", p4, 'W', 0, PAGE);
}

static void run_child(void) {
  ctl->child = getpid();
  while (ctl->ping != 1) sleep_ms(1);
  check_mappings("child");
  memset(p1 + 2 * PAGE, 'r', 100);
  memset(p4 + 100, 'R', 100);
  ctl->child_problems = problems_found;
  __sync_synchronize();
  ctl->pong = 1;
  for (;;) pause();  // The namespace dies with the init.
}

static void check_fds(void) {
  unsigned char buffer[4 * PAGE];
  struct stat st;
  SETUP_OR_DIE(fstat(m1, &st) == 0, "fstat: %s\n", strerror(errno));
  EXPECT_OR_FAIL(st.st_size == M1_SIZE, "m1 is %lld bytes, was %d\n", (long long)st.st_size, M1_SIZE);
  EXPECT_OR_FAIL(pread(m1, buffer, sizeof buffer, 0) == M1_SIZE, "m1: pread did not return its %d bytes\n", M1_SIZE);
  check_bytes("init", "m1 contents", buffer, 'M', 0, M1_SIZE);
  EXPECT_OR_FAIL(lseek(m1, 0, SEEK_CUR) == M1_POS, "m1 is at position %lld, was %d\n", (long long)lseek(m1, 0, SEEK_CUR), M1_POS);
  EXPECT_OR_FAIL(read(m1, buffer, 10) == 10, "m1: read at its position failed\n");
  check_bytes("init", "m1 read at its position", buffer, 'M', M1_POS, M1_POS + 10);
  EXPECT_OR_FAIL((fcntl(m1, F_GETFL) & O_ACCMODE) == O_RDWR, "m1 is not open read-write\n");
  EXPECT_OR_FAIL(fcntl(m1, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW), "m1 seals are %d\n", fcntl(m1, F_GET_SEALS));
  EXPECT_OR_FAIL(ftruncate(m1, 100) != 0 && errno == EPERM, "m1: F_SEAL_SHRINK no longer applies\n");
  EXPECT_OR_FAIL(ftruncate(m1, 8 * PAGE) != 0 && errno == EPERM, "m1: F_SEAL_GROW no longer applies\n");
  char link[256] = {0};
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", m1);
  EXPECT_OR_FAIL(readlink(path, link, sizeof link - 1) > 0 && strcmp(link, "/memfd:cryo-test (deleted)") == 0,
                 "m1 is named '%s'\n", link);

  EXPECT_OR_FAIL(pread(m2, buffer, PAGE, 0) == PAGE, "m2: pread failed\n");
  check_bytes("init", "m2 file page 0 (under the private copy)", buffer, 'Q', 0, PAGE);
  EXPECT_OR_FAIL(fcntl(m2, F_GET_SEALS) == F_SEAL_SEAL, "m2 seals are %d, not F_SEAL_SEAL\n", fcntl(m2, F_GET_SEALS));

  EXPECT_OR_FAIL(pread(m3, buffer, sizeof buffer, 0) == M3_SIZE, "m3: pread did not return its %d bytes\n", M3_SIZE);
  check_bytes("init", "m3 contents", buffer, 'S', 0, M3_SIZE);
  EXPECT_OR_FAIL(fcntl(m3, F_GET_SEALS) == (F_SEAL_WRITE | F_SEAL_SEAL), "m3 seals are %d\n", fcntl(m3, F_GET_SEALS));
  EXPECT_OR_FAIL(pwrite(m3, "x", 1, 0) < 0 && errno == EPERM, "m3: F_SEAL_WRITE no longer applies\n");
  EXPECT_OR_FAIL(fcntl(m3, F_ADD_SEALS, F_SEAL_GROW) != 0 && errno == EPERM, "m3: F_SEAL_SEAL no longer applies\n");
}

int main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  install_check_handler();
  m1 = memfd("cryo-test", MFD_ALLOW_SEALING, 'M', M1_SIZE);
  p1 = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, m1, 0);
  SETUP_OR_DIE(p1 != MAP_FAILED, "mmap m1: %s\n", strerror(errno));
  SETUP_OR_DIE(fcntl(m1, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0, "seal m1: %s\n", strerror(errno));
  SETUP_OR_DIE(lseek(m1, M1_POS, SEEK_SET) == M1_POS, "lseek m1: %s\n", strerror(errno));

  m2 = memfd("cryo-private", 0, 'Q', 2 * PAGE);
  p2 = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, m2, 0);
  SETUP_OR_DIE(p2 != MAP_FAILED, "mmap m2: %s\n", strerror(errno));
  memset(p2, 'X', PAGE);

  m3 = memfd("cryo-sealed", MFD_ALLOW_SEALING, 'S', M3_SIZE);
  SETUP_OR_DIE(fcntl(m3, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SEAL) == 0, "seal m3: %s\n", strerror(errno));

  int m4 = memfd("cryo-mapped", 0, 'W', 2 * PAGE);
  p4 = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, m4, 0);
  SETUP_OR_DIE(p4 != MAP_FAILED, "mmap m4: %s\n", strerror(errno));
  close(m4);
  ctl = (struct control*)(p4 + PAGE);
  memset((void*)ctl, 0, sizeof *ctl);

  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) run_child();
  for (int i = 0; i < 5000 && ctl->child != child; ++i) sleep_ms(1);
  SETUP_OR_DIE(ctl->child == child, "the child did not start\n");
  say("READY memfds %d %d %d, child %d\n", m1, m2, m3, (int)child);
  wait_for_check();

  check_mappings("init");
  check_fds();
  ctl->ping = 1;
  for (int i = 0; i < 5000 && !ctl->pong; ++i) sleep_ms(1);
  EXPECT_OR_FAIL(ctl->pong, "init: the child never answered through the memfd after restore\n");
  if (ctl->pong) {
    EXPECT_OR_FAIL(ctl->child_problems == 0, "init: the child found %d problems in its view\n", ctl->child_problems);
    unsigned char reply[100];
    EXPECT_OR_FAIL(pread(m1, reply, sizeof reply, 2 * PAGE) == 100, "m1: pread of the reply failed\n");
    size_t bad = 0;
    for (size_t i = 0; i < 100; ++i) bad += reply[i] != 'r' || p1[2 * PAGE + i] != 'r' || p4[100 + i] != 'R';
    EXPECT_OR_FAIL(bad == 0, "init: the child's writes through its mappings are not all visible (%zu bytes wrong)\n", bad);
  }
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  finish();
}
