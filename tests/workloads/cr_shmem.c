// Checkpoint/restore workload: shared anonymous memory shared by two processes after fork.
//
//   A: 1 MiB mmap(MAP_SHARED|MAP_ANONYMOUS). The init writes pages 0-9, the child pages 100-109
//      (which the init never touches: they are in the shmem object but not in the init's page
//      tables), the rest stays untouched and must read zero. The child unmaps A's first page, so
//      its mapping starts at offset 4096 of the object.
//   B: 64 KiB MAP_SHARED mapping of /dev/zero (also shared anonymous memory to the kernel). The
//      init writes page 3; page 15 holds the control block the two use to talk.
//   C: 4 pages of a MAP_PRIVATE mapping of /dev/zero: anonymous memory to the kernel, which
//      /proc/self/maps still names /dev/zero. The init writes page 1 (after the fork: the child's
//      copy stays zero).
//
// On SIGUSR1 the init checks A and B, C's contents and its line in /proc/self/maps, then pings the child through B; the child checks its own view,
// writes a reply into A page 200 and pongs. The init expects the pong within 5 s, the child's verdict,
// and the child's page in its own mapping: a write by one process after restore is seen by the other.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { PAGE = 4096, A_PAGES = 256, B_PAGES = 16, CONTROL_PAGE = 15, REPLY_PAGE = 200 };

struct control {
  volatile int ping;
  volatile int pong;
  volatile int child_problems;
  volatile pid_t child;
};

static unsigned char* a;
static unsigned char* b;
static struct control* ctl;
static unsigned char* c;

// Whether /proc/self/maps names the mapping at `at` as /dev/zero.
static int maps_names_dev_zero(const void* at) {
  FILE* maps = fopen("/proc/self/maps", "r");
  if (!maps) return 0;
  char line[512];
  int named = 0;
  unsigned long start = 0;
  while (fgets(line, sizeof line, maps))
    if (sscanf(line, "%lx-", &start) == 1 && start == (unsigned long)at) named = strstr(line, " /dev/zero") != NULL;
  fclose(maps);
  return named;
}

static unsigned char expected_a(size_t page, size_t i) {
  if (page < 10) return pattern_byte('P', page * PAGE + i);
  if (page >= 100 && page < 110) return pattern_byte('C', page * PAGE + i);
  return 0;
}

// Counts the bytes of A (from `first_page`) and B that differ from what they must hold.
static void check_contents(const char* who, size_t first_page) {
  for (size_t page = first_page; page < A_PAGES; ++page) {
    if (page == REPLY_PAGE) continue;
    size_t bad = 0;
    for (size_t i = 0; i < PAGE; ++i) bad += a[page * PAGE + i] != expected_a(page, i);
    EXPECT_OR_FAIL(bad == 0, "%s: A page %zu has %zu wrong bytes\n", who, page, bad);
  }
  for (size_t page = 0; page < CONTROL_PAGE; ++page) {
    size_t bad = 0;
    for (size_t i = 0; i < PAGE; ++i) bad += b[page * PAGE + i] != (page == 3 ? pattern_byte('Z', i) : 0);
    EXPECT_OR_FAIL(bad == 0, "%s: B page %zu has %zu wrong bytes\n", who, page, bad);
  }
}

static void run_child(void) {
  SETUP_OR_DIE(munmap(a, PAGE) == 0, "child: munmap: %s\n", strerror(errno));
  for (size_t page = 100; page < 110; ++page)
    for (size_t i = 0; i < PAGE; ++i) a[page * PAGE + i] = pattern_byte('C', page * PAGE + i);
  ctl->child = getpid();
  for (;;) {
    if (ctl->ping == 1) {
      check_contents("child", 1);
      for (size_t i = 0; i < PAGE; ++i) a[REPLY_PAGE * PAGE + i] = pattern_byte('R', i);
      ctl->child_problems = problems_found;
      __sync_synchronize();
      ctl->pong = 1;
      for (;;) pause();  // The namespace dies with the init.
    }
    sleep_ms(1);
  }
}

int main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  install_check_handler();
  a = mmap(NULL, A_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  SETUP_OR_DIE(a != MAP_FAILED, "mmap A: %s\n", strerror(errno));
  int zero = open("/dev/zero", O_RDWR);
  SETUP_OR_DIE(zero >= 0, "open /dev/zero: %s\n", strerror(errno));
  b = mmap(NULL, B_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, zero, 0);
  SETUP_OR_DIE(b != MAP_FAILED, "mmap /dev/zero: %s\n", strerror(errno));
  c = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, zero, 0);
  SETUP_OR_DIE(c != MAP_FAILED, "mmap /dev/zero private: %s\n", strerror(errno));
  close(zero);
  ctl = (struct control*)(b + CONTROL_PAGE * PAGE);
  for (size_t page = 0; page < 10; ++page)
    for (size_t i = 0; i < PAGE; ++i) a[page * PAGE + i] = pattern_byte('P', page * PAGE + i);
  for (size_t i = 0; i < PAGE; ++i) b[3 * PAGE + i] = pattern_byte('Z', i);

  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) run_child();
  for (int i = 0; i < 5000 && ctl->child != child; ++i) sleep_ms(1);
  SETUP_OR_DIE(ctl->child == child, "the child did not start\n");
  for (size_t i = 0; i < PAGE; ++i) c[PAGE + i] = pattern_byte('C', i);
  say("READY shared anonymous memory at %p and %p, child %d\n", (void*)a, (void*)b, (int)child);
  wait_for_check();

  check_contents("init", 0);
  size_t bad_c = 0;
  for (size_t i = 0; i < 4 * PAGE; ++i) bad_c += c[i] != (i >= PAGE && i < 2 * PAGE ? pattern_byte('C', i - PAGE) : 0);
  EXPECT_OR_FAIL(bad_c == 0, "init: the private /dev/zero mapping has %zu wrong bytes\n", bad_c);
  EXPECT_OR_FAIL(maps_names_dev_zero(c), "init: /proc/self/maps no longer names the private mapping at %p /dev/zero\n", (void*)c);
  ctl->ping = 1;
  for (int i = 0; i < 5000 && !ctl->pong; ++i) sleep_ms(1);
  EXPECT_OR_FAIL(ctl->pong, "init: the child never answered through shared memory after restore\n");
  if (ctl->pong) {
    EXPECT_OR_FAIL(ctl->child_problems == 0, "init: the child found %d problems in its view\n", ctl->child_problems);
    size_t bad = 0;
    for (size_t i = 0; i < PAGE; ++i) bad += a[REPLY_PAGE * PAGE + i] != pattern_byte('R', i);
    EXPECT_OR_FAIL(bad == 0, "init: the child's reply page has %zu wrong bytes\n", bad);
  }
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  finish();
}
