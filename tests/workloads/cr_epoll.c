// Checkpoint/restore workload: an epoll set keeps its watches, their events and their data.
//
//   cr_epoll [--stale=1]
//
//   fd 10  epoll set (EPOLL_CLOEXEC), watching:
//   fd 11  eventfd with count 1 (ready)         EPOLLIN            data 0xA11CE
//   fd 12  pipe read end with 3 bytes (ready)   EPOLLIN | EPOLLET  data 0xB0B0000000000001
//   fd 13  pipe write end                       EPOLLOUT           data 13
//   fd 14  eventfd with count 0 (not ready)     EPOLLIN            data 0xC
//   fd 15  dup(10)
// On SIGUSR1 epoll_wait must report exactly 11, 12 and 13 with their data, then (edge-triggered)
// only 11 and 13; after a write to fd 14 it reports 14 too; a watch removed through fd 15 is gone
// from fd 10 (one set).
// --stale=1 also watches fd 16 (an eventfd), then dups it to 17 and closes 16: the kernel keeps the
// watch, which no fd number names any more; dump must refuse it.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "cr_common.h"

enum { FD_EPOLL = 10, FD_READY = 11, FD_PIPE_READ = 12, FD_PIPE_WRITE = 13, FD_IDLE = 14, FD_EPOLL_DUP = 15, FD_STALE = 16 };

static void move_to(int fd, int number) {
  SETUP_OR_DIE(fd >= 0 && dup2(fd, number) == number, "create fd %d: %s\n", number, strerror(errno));
  close(fd);
}

static void watch(int fd, uint32_t events, uint64_t data) {
  struct epoll_event event = {.events = events, .data.u64 = data};
  SETUP_OR_DIE(epoll_ctl(FD_EPOLL, EPOLL_CTL_ADD, fd, &event) == 0, "epoll_ctl add %d: %s\n", fd, strerror(errno));
}

// The data of the ready watches as a bit set of the fds they stand for; unknown data fails.
static unsigned ready_set(const char* when) {
  struct epoll_event events[16];
  int n = epoll_wait(FD_EPOLL, events, 16, 0);
  EXPECT_OR_FAIL(n >= 0, "%s: epoll_wait: %s\n", when, strerror(errno));
  unsigned set = 0;
  for (int i = 0; i < n; ++i) {
    uint64_t data = events[i].data.u64;
    if (data == 0xA11CE && events[i].events == EPOLLIN) set |= 1u << FD_READY;
    else if (data == 0xB0B0000000000001ULL && events[i].events == EPOLLIN) set |= 1u << FD_PIPE_READ;
    else if (data == 13 && events[i].events == EPOLLOUT) set |= 1u << FD_PIPE_WRITE;
    else if (data == 0xC && events[i].events == EPOLLIN) set |= 1u << FD_IDLE;
    else EXPECT_OR_FAIL(0, "%s: unexpected event %#x with data %#llx\n", when, events[i].events, (unsigned long long)data);
  }
  return set;
}

int main(int argc, char** argv) {
  install_check_handler();
  int stale = (int)arg_number(argc, argv, "stale", 0);
  int epoll = epoll_create1(EPOLL_CLOEXEC);
  SETUP_OR_DIE(epoll >= 0 && dup3(epoll, FD_EPOLL, O_CLOEXEC) == FD_EPOLL, "epoll_create1: %s\n", strerror(errno));
  close(epoll);
  move_to(eventfd(1, 0), FD_READY);
  int ends[2];
  SETUP_OR_DIE(pipe(ends) == 0, "pipe: %s\n", strerror(errno));
  move_to(ends[0], FD_PIPE_READ);
  move_to(ends[1], FD_PIPE_WRITE);
  SETUP_OR_DIE(write(FD_PIPE_WRITE, "abc", 3) == 3, "write: %s\n", strerror(errno));
  move_to(eventfd(0, 0), FD_IDLE);
  SETUP_OR_DIE(dup2(FD_EPOLL, FD_EPOLL_DUP) == FD_EPOLL_DUP, "dup2: %s\n", strerror(errno));
  watch(FD_READY, EPOLLIN, 0xA11CE);
  watch(FD_PIPE_READ, EPOLLIN | EPOLLET, 0xB0B0000000000001ULL);
  watch(FD_PIPE_WRITE, EPOLLOUT, 13);
  watch(FD_IDLE, EPOLLIN, 0xC);
  if (stale) {
    move_to(eventfd(0, 0), FD_STALE);
    watch(FD_STALE, EPOLLIN, 16);
    SETUP_OR_DIE(dup2(FD_STALE, FD_STALE + 1) == FD_STALE + 1, "dup2: %s\n", strerror(errno));
    close(FD_STALE);
  }
  say("READY epoll\n");
  wait_for_check();
  if (stale) finish();  // Only the refused dump matters here, and that the process runs on.

  EXPECT_OR_FAIL(fcntl(FD_EPOLL, F_GETFD) & FD_CLOEXEC, "fd %d lost FD_CLOEXEC\n", FD_EPOLL);
  unsigned want = 1u << FD_READY | 1u << FD_PIPE_READ | 1u << FD_PIPE_WRITE;
  unsigned got = ready_set("first wait");
  EXPECT_OR_FAIL(got == want, "first wait: ready fds %#x, expected %#x\n", got, want);
  want = 1u << FD_READY | 1u << FD_PIPE_WRITE;
  got = ready_set("second wait");
  EXPECT_OR_FAIL(got == want, "second wait (fd 12 is edge-triggered): ready fds %#x, expected %#x\n", got, want);
  uint64_t one = 1;
  EXPECT_OR_FAIL(write(FD_IDLE, &one, sizeof one) == sizeof one, "write fd %d: %s\n", FD_IDLE, strerror(errno));
  want = 1u << FD_READY | 1u << FD_PIPE_WRITE | 1u << FD_IDLE;
  got = ready_set("after a write to fd 14");
  EXPECT_OR_FAIL(got == want, "after a write to fd 14: ready fds %#x, expected %#x\n", got, want);
  EXPECT_OR_FAIL(epoll_ctl(FD_EPOLL_DUP, EPOLL_CTL_DEL, FD_READY, NULL) == 0, "epoll_ctl del through fd %d: %s\n", FD_EPOLL_DUP,
                 strerror(errno));
  want = 1u << FD_PIPE_WRITE | 1u << FD_IDLE;
  got = ready_set("after removing fd 11 through fd 15");
  EXPECT_OR_FAIL(got == want, "after removing fd 11 through fd 15: ready fds %#x, expected %#x (fd 15 is another set?)\n", got, want);
  finish();
}
