// Checkpoint/restore workload: epoll sets inherited by fork stay one set for both processes, with
// their watches, whichever process still holds the watched files.
//
//   cr_epoll_shared
//
//   fd 10  epoll set A, watching fd 11 (eventfd, count 1, data 0xA) and fd 12 (eventfd, count 0,
//          data 0xB); the child closes its fd 12, so only the init holds all of A's files
//   fd 20  epoll set B, watching fd 21 (eventfd, count 0, data 0x21); the init closes its fd 21
//          (the child's keeps the file and so the watch), so only the child holds B's file
// On SIGUSR1: the child checks that its fds 10 and 20 are the init's sets (kcmp) and that A reports
// only 0xA; it writes its fd 21, and the init's B must report 0x21 (a watch the init has no fd
// for); the init writes its fd 12, and the child's A must report 0xA and 0xB.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { FD_SET_A = 10, FD_READY = 11, FD_IDLE = 12, FD_SET_B = 20, FD_CHILDS = 21 };

static void move_to(int fd, int number) {
  SETUP_OR_DIE(fd >= 0 && dup2(fd, number) == number, "create fd %d: %s\n", number, strerror(errno));
  close(fd);
}

static void watch(int set, int fd, uint64_t data) {
  struct epoll_event event = {.events = EPOLLIN, .data.u64 = data};
  SETUP_OR_DIE(epoll_ctl(set, EPOLL_CTL_ADD, fd, &event) == 0, "epoll_ctl add %d: %s\n", fd, strerror(errno));
}

// The data of the ready watches of `set`, as a bit set: bit 0 for 0xA, 1 for 0xB, 2 for 0x21.
static unsigned ready_set(int set, const char* when) {
  struct epoll_event events[8];
  int n = epoll_wait(set, events, 8, 0);
  EXPECT_OR_FAIL(n >= 0, "%s: epoll_wait: %s\n", when, strerror(errno));
  unsigned bits = 0;
  for (int i = 0; i < n; ++i) {
    uint64_t data = events[i].data.u64;
    if (data == 0xA) bits |= 1;
    else if (data == 0xB) bits |= 2;
    else if (data == 0x21) bits |= 4;
    else EXPECT_OR_FAIL(0, "%s: unexpected event %#x with data %#llx\n", when, events[i].events, (unsigned long long)data);
  }
  return bits;
}

static void add_one(int fd) {
  uint64_t one = 1;
  EXPECT_OR_FAIL(write(fd, &one, sizeof one) == sizeof one, "write fd %d: %s\n", fd, strerror(errno));
}

static void await(int fd) {
  char byte;
  while (read(fd, &byte, 1) < 0 && errno == EINTR) {
  }
}

static void child_side(int from_init, int to_init) {
  close(FD_IDLE);
  char byte = 1;
  SETUP_OR_DIE(write(to_init, &byte, 1) == 1, "child ready: %s\n", strerror(errno));
  await(from_init);
  pid_t init = getppid();
  for (int fd = FD_SET_A; fd <= FD_SET_B; fd += FD_SET_B - FD_SET_A)
    EXPECT_OR_FAIL(syscall(SYS_kcmp, init, getpid(), KCMP_FILE, fd, fd) == 0, "child: fd %d is not the init's set any more\n", fd);
  unsigned got = ready_set(FD_SET_A, "child, first wait on A");
  EXPECT_OR_FAIL(got == 1, "child, first wait on A: ready %#x, expected 0x1\n", got);
  add_one(FD_CHILDS);
  (void)!write(to_init, &byte, 1);
  await(from_init);
  got = ready_set(FD_SET_A, "child, after the init wrote its fd 12");
  EXPECT_OR_FAIL(got == 3, "child, after the init wrote its fd 12: A ready %#x, expected 0x3\n", got);
  _exit(problems_found == 0 ? 0 : 1);
}

int main(void) {
  install_check_handler();
  move_to(epoll_create1(0), FD_SET_A);
  move_to(eventfd(1, 0), FD_READY);
  move_to(eventfd(0, 0), FD_IDLE);
  watch(FD_SET_A, FD_READY, 0xA);
  watch(FD_SET_A, FD_IDLE, 0xB);
  move_to(epoll_create1(0), FD_SET_B);
  move_to(eventfd(0, 0), FD_CHILDS);
  watch(FD_SET_B, FD_CHILDS, 0x21);
  int to_child[2], to_init[2];
  SETUP_OR_DIE(pipe(to_child) == 0 && pipe(to_init) == 0, "pipe: %s\n", strerror(errno));
  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) {
    close(to_child[1]);
    close(to_init[0]);
    child_side(to_child[0], to_init[1]);
  }
  close(to_child[0]);
  close(to_init[1]);
  close(FD_CHILDS);
  await(to_init[0]);  // The child closed its fd 12.
  say("READY epoll_shared\n");
  wait_for_check();

  char byte = 1;
  EXPECT_OR_FAIL(write(to_child[1], &byte, 1) == 1, "wake the child: %s\n", strerror(errno));
  await(to_init[0]);  // The child wrote its fd 21.
  unsigned got = ready_set(FD_SET_B, "init, wait on B");
  EXPECT_OR_FAIL(got == 4, "init, wait on B after the child wrote its fd 21: ready %#x, expected 0x4\n", got);
  add_one(FD_IDLE);
  EXPECT_OR_FAIL(write(to_child[1], &byte, 1) == 1, "wake the child: %s\n", strerror(errno));
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  EXPECT_OR_FAIL(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child found its sets changed (status %d)\n", status);
  finish();
}
