// Checkpoint/restore workload: eventfds keep their counter, semaphore mode and flags, and stay
// shared by the fds and processes that shared them.
//
//   cr_eventfd
//
//   fd 10  eventfd(5, EFD_SEMAPHORE | EFD_NONBLOCK)
//   fd 11  eventfd(0, EFD_CLOEXEC), then 123456789012 written: above what eventfd() can start with
//   fd 12  dup(11)
// A child inherits fd 11 and waits on a pipe. On SIGUSR1 the init wakes the child, which adds 7 to
// its fd 11 and exits; the init then adds 1 through fd 12 and reads fd 11: 123456789012 + 7 + 1 only
// if the three fds are still one eventfd. Fd 10 must give 1 five times, then EAGAIN.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { FD_SEMAPHORE = 10, FD_COUNTER = 11, FD_COUNTER_DUP = 12 };
static const uint64_t kCounter = 123456789012ULL;

static void move_to(int fd, int number) {
  SETUP_OR_DIE(fd >= 0, "create fd %d: %s\n", number, strerror(errno));
  SETUP_OR_DIE(dup3(fd, number, fcntl(fd, F_GETFD) & FD_CLOEXEC ? O_CLOEXEC : 0) == number, "dup3: %s\n", strerror(errno));
  close(fd);
}

int main(void) {
  install_check_handler();
  move_to(eventfd(5, EFD_SEMAPHORE | EFD_NONBLOCK), FD_SEMAPHORE);
  move_to(eventfd(0, EFD_CLOEXEC), FD_COUNTER);
  SETUP_OR_DIE(write(FD_COUNTER, &kCounter, sizeof kCounter) == sizeof kCounter, "write: %s\n", strerror(errno));
  SETUP_OR_DIE(dup2(FD_COUNTER, FD_COUNTER_DUP) == FD_COUNTER_DUP, "dup2: %s\n", strerror(errno));
  int wake[2];
  SETUP_OR_DIE(pipe(wake) == 0, "pipe: %s\n", strerror(errno));
  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) {
    close(wake[1]);
    char byte;
    while (read(wake[0], &byte, 1) < 0 && errno == EINTR) {
    }
    uint64_t seven = 7;
    _exit(write(FD_COUNTER, &seven, sizeof seven) == sizeof seven ? 0 : 1);
  }
  close(wake[0]);
  say("READY eventfd\n");
  wait_for_check();

  EXPECT_OR_FAIL(fcntl(FD_SEMAPHORE, F_GETFL) & O_NONBLOCK, "fd %d lost O_NONBLOCK\n", FD_SEMAPHORE);
  EXPECT_OR_FAIL(fcntl(FD_COUNTER, F_GETFD) & FD_CLOEXEC, "fd %d lost FD_CLOEXEC\n", FD_COUNTER);
  EXPECT_OR_FAIL(!(fcntl(FD_COUNTER_DUP, F_GETFD) & FD_CLOEXEC), "fd %d gained FD_CLOEXEC\n", FD_COUNTER_DUP);
  for (int i = 0; i < 5; ++i) {
    uint64_t value = 0;
    ssize_t got = read(FD_SEMAPHORE, &value, sizeof value);
    EXPECT_OR_FAIL(got == sizeof value && value == 1, "semaphore read %d gave %zd bytes, value %llu (%s)\n", i, got,
                   (unsigned long long)value, strerror(errno));
  }
  uint64_t value = 0;
  EXPECT_OR_FAIL(read(FD_SEMAPHORE, &value, sizeof value) < 0 && errno == EAGAIN, "semaphore not empty after 5 reads\n");

  char byte = 1;
  EXPECT_OR_FAIL(write(wake[1], &byte, 1) == 1, "wake the child: %s\n", strerror(errno));
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  EXPECT_OR_FAIL(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child could not write its eventfd (status %d)\n", status);
  uint64_t one = 1;
  EXPECT_OR_FAIL(write(FD_COUNTER_DUP, &one, sizeof one) == sizeof one, "write fd %d: %s\n", FD_COUNTER_DUP, strerror(errno));
  value = 0;
  EXPECT_OR_FAIL(read(FD_COUNTER, &value, sizeof value) == sizeof value, "read fd %d: %s\n", FD_COUNTER, strerror(errno));
  EXPECT_OR_FAIL(value == kCounter + 8, "counter read %llu, expected %llu (the fds are no longer one eventfd?)\n",
                 (unsigned long long)value, (unsigned long long)(kCounter + 8));
  finish();
}
