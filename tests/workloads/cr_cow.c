// Checkpoint/restore workload: copy-on-write sharing between a parent and the children it forked.
//
//   cr_cow [--pages=N]
//
//   P0 init         fills N pages (default 8192: 32 MiB) of private anonymous memory, forks P1..P4,
//                   then writes pages 0-2 (its own from then on)
//   +- P1           writes pages 100-102, then forks P5
//   |  +- P5        writes pages 500-502 (pages 100-102 it shares with P1, the rest with P0)
//   +- P2           writes pages 200-202, and zeroes page 250 (so it lacks a page its parent has)
//   +- P3, P4       write pages 300-302 and 400-402
//
// Pages nobody wrote since the fork are one physical page in every process. The init checks that
// before READY (what the kernel gave) and again at the check (what restore gave back), reading the
// frame numbers in /proc/PID/pagemap (root only): untouched pages must be the init's very pages,
// P5's pages 100-102 P1's, and every page written after a fork nobody else's. Then every process
// checks the bytes of all N pages.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { PAGE = 4096, CHILDREN = 5 };

static unsigned char* region;
static size_t pages;
static int role;  // 0 init, 1..5

// The first 8 bytes of each page say which role wrote it and which page it is; the rest follows
// from them, so a page from the wrong process or the wrong place is told apart.
static void fill_page(size_t index, int writer) {
  uint64_t state = 0x9e3779b97f4a7c15ull ^ ((uint64_t)index << 8) ^ (uint64_t)(writer + 1);
  uint64_t* words = (uint64_t*)(region + index * PAGE);
  for (size_t i = 0; i < PAGE / 8; ++i) words[i] = xorshift64(&state);
}

static int page_is(size_t index, int writer) {
  uint64_t state = 0x9e3779b97f4a7c15ull ^ ((uint64_t)index << 8) ^ (uint64_t)(writer + 1);
  const uint64_t* words = (const uint64_t*)(region + index * PAGE);
  for (size_t i = 0; i < PAGE / 8; ++i)
    if (words[i] != xorshift64(&state)) return 0;
  return 1;
}

static int page_is_zero(size_t index) {
  const uint64_t* words = (const uint64_t*)(region + index * PAGE);
  for (size_t i = 0; i < PAGE / 8; ++i)
    if (words[i]) return 0;
  return 1;
}

// -1: the original fill (writer 0 before any fork shows as writer 0 too); -2: zero.
static int expected_writer(int who, size_t index) {
  if (who == 0 && index < 3) return 100;  // the init's own, after the forks
  if (who >= 1 && who <= 4 && index >= (size_t)who * 100 && index < (size_t)who * 100 + 3) return who;
  if (who == 2 && index == 250) return -2;
  if (who == 5 && index >= 500 && index < 503) return 5;
  if (who == 5 && index >= 100 && index < 103) return 1;
  return 0;
}

static void write_own_pages(void) {
  if (role >= 1 && role <= 5)
    for (size_t i = (size_t)role * 100; i < (size_t)role * 100 + 3; ++i) fill_page(i, role);
  if (role == 2) memset(region + 250 * PAGE, 0, PAGE);
}

static void check_content(void) {
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < pages; ++i) {
    int w = expected_writer(role, i);
    int ok = w == -2 ? page_is_zero(i) : page_is(i, w);
    if (!ok && bad++ == 0) first = i;
  }
  EXPECT_OR_FAIL(bad == 0, "P%d: %zu of %zu pages hold wrong bytes, the first is page %zu\n", role, bad, pages, first);
}

// Frame numbers of the region in process `pid` (0 for a page that is not present).
static void read_frames(pid_t pid, uint64_t* frames) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/pagemap", (int)pid);
  int fd = open(path, O_RDONLY);
  SETUP_OR_DIE(fd >= 0, "P0: open %s: %s\n", path, strerror(errno));
  off_t at = (off_t)((uintptr_t)region / PAGE * 8);
  ssize_t got = pread(fd, frames, pages * 8, at);
  SETUP_OR_DIE(got == (ssize_t)(pages * 8), "P0: read %s: %s\n", path, got < 0 ? strerror(errno) : "short read");
  close(fd);
  for (size_t i = 0; i < pages; ++i)
    frames[i] = (frames[i] >> 63) ? frames[i] & ((1ull << 55) - 1) : 0;
}

// Whose page process `who` should map at `index`: the process whose write it is, or the init.
// -1: no process to compare with. Pages 0-2, which the init replaced after the forks, are shared
// among the children only through a page no process of the image maps any more as its own: cryo
// gives each child its copy (the init's restore never had that page), so they are not compared.
static int owner(int who, size_t index) {
  int w = expected_writer(who, index);
  if (w == -2) return -1;  // P2's zero page: present in nobody else
  if (who >= 1 && index < 3) return -1;
  return w;
}

static void check_sharing(const char* when, const pid_t* pids) {
  static uint64_t* frames[CHILDREN + 1];
  for (int r = 0; r <= CHILDREN; ++r) {
    if (!frames[r]) frames[r] = malloc(pages * 8);
    SETUP_OR_DIE(frames[r] != NULL, "malloc\n");
    read_frames(pids[r], frames[r]);
  }
  size_t known = 0;
  for (size_t i = 0; i < pages; ++i) known += frames[0][i] != 0;
  SETUP_OR_DIE(known > pages / 2, "P0: /proc/PID/pagemap shows no frame numbers (run as root)\n");
  for (int r = 1; r <= CHILDREN; ++r) {
    size_t lost = 0, wrongly = 0, first_lost = 0, first_wrong = 0;
    for (size_t i = 0; i < pages; ++i) {
      int o = owner(r, i);
      if (o < 0) continue;
      int parent = r == 5 ? 1 : 0;
      if (o == r) {
        if (frames[r][i] == frames[parent][i] || frames[r][i] == frames[0][i]) {
          if (wrongly++ == 0) first_wrong = i;
        }
      } else if (frames[r][i] == 0 || frames[r][i] != frames[o][i]) {
        if (lost++ == 0) first_lost = i;
      }
    }
    EXPECT_OR_FAIL(lost == 0, "P%d %s: %zu pages it should share are its own (first: page %zu)\n", r, when, lost, first_lost);
    EXPECT_OR_FAIL(wrongly == 0, "P%d %s: %zu pages it wrote are shared (first: page %zu)\n", r, when, wrongly, first_wrong);
  }
  // The init's own pages are nobody else's.
  size_t leaked = 0;
  for (int r = 1; r <= CHILDREN; ++r)
    for (size_t i = 0; i < 3; ++i) leaked += frames[r][i] == frames[0][i];
  EXPECT_OR_FAIL(leaked == 0, "P0 %s: %zu of the pages it wrote after the forks are shared\n", when, leaked);
  say("P0 %s: sharing checked over %zu pages of %d processes\n", when, pages, CHILDREN + 1);
}

static void reap(pid_t child, int who) {
  int status = 0;
  pid_t got;
  while ((got = waitpid(child, &status, 0)) < 0 && errno == EINTR) {
  }
  EXPECT_OR_FAIL(got == child && WIFEXITED(status) && WEXITSTATUS(status) == 0, "P%d: child P%d ended with status %#x\n", role,
                 who, status);
}

static void report(int fd) {
  int msg[2] = {role, (int)getpid()};
  SETUP_OR_DIE(write(fd, msg, sizeof msg) == sizeof msg, "P%d: report: %s\n", role, strerror(errno));
}

static void child_main(int report_fd) {
  write_own_pages();
  pid_t grandchild = 0;
  if (role == 1) {
    grandchild = fork();
    SETUP_OR_DIE(grandchild >= 0, "fork P5: %s\n", strerror(errno));
    if (grandchild == 0) {
      role = 5;
      write_own_pages();
      report(report_fd);
      close(report_fd);
      wait_for_check();
      check_content();
      _exit(problems_found == 0 ? 0 : 1);
    }
  }
  report(report_fd);
  close(report_fd);
  wait_for_check();
  check_content();
  if (grandchild) {
    kill(grandchild, SIGUSR1);
    reap(grandchild, 5);
  }
  _exit(problems_found == 0 ? 0 : 1);
}

int main(int argc, char** argv) {
  install_check_handler();
  pages = (size_t)arg_number(argc, argv, "pages", 8192);
  SETUP_OR_DIE(pages >= 600, "--pages must be at least 600\n");
  region = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SETUP_OR_DIE(region != MAP_FAILED, "mmap: %s\n", strerror(errno));
  for (size_t i = 0; i < pages; ++i) fill_page(i, 0);

  int reports[2];
  SETUP_OR_DIE(pipe(reports) == 0, "pipe: %s\n", strerror(errno));
  pid_t pids[CHILDREN + 1] = {getpid()};
  pid_t direct[5] = {0};
  for (int r = 1; r <= 4; ++r) {
    pid_t pid = fork();
    SETUP_OR_DIE(pid >= 0, "fork P%d: %s\n", r, strerror(errno));
    if (pid == 0) {
      role = r;
      close(reports[0]);
      child_main(reports[1]);
    }
    direct[r] = pid;
  }
  close(reports[1]);
  for (size_t i = 0; i < 3; ++i) fill_page(i, 100);
  for (int n = 0; n < CHILDREN; ++n) {
    int msg[2];
    ssize_t got;
    while ((got = read(reports[0], msg, sizeof msg)) < 0 && errno == EINTR) {
    }
    SETUP_OR_DIE(got == sizeof msg && msg[0] >= 1 && msg[0] <= CHILDREN, "report pipe: got %zd bytes\n", got);
    pids[msg[0]] = msg[1];
  }
  close(reports[0]);
  check_sharing("before the checkpoint", pids);
  SETUP_OR_DIE(problems_found == 0, "the kernel did not share the pages as expected\n");
  say("READY pages=%zu P1=%d P5=%d\n", pages, (int)pids[1], (int)pids[5]);

  wait_for_check();
  check_sharing("after the restore", pids);
  check_content();
  for (int r = 1; r <= 4; ++r) kill(direct[r], SIGUSR1);
  for (int r = 1; r <= 4; ++r) reap(direct[r], r);
  finish();
}
