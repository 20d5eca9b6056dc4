// Checkpoint/restore workload: a signalfd keeps its mask and flags and receives signals after restore.
//
//   cr_signalfd
//
// SIGUSR2 and SIGRTMIN+1 are blocked; fd 10 is signalfd({SIGUSR2, SIGRTMIN+1}, SFD_NONBLOCK |
// SFD_CLOEXEC). SIGUSR2 is raised before the dump and stays pending. On SIGUSR1 it checks the flags
// and the mask its own fdinfo shows, reads SIGUSR2 from fd 10, then queues SIGRTMIN+1 with a value
// (sent after restore) and reads it with that value, and finally finds fd 10 empty (EAGAIN).
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/signalfd.h>

#include "cr_common.h"

enum { FD_SIGNALS = 10 };

static int read_signal(struct signalfd_siginfo* info) {
  ssize_t got = read(FD_SIGNALS, info, sizeof *info);
  return got == sizeof *info ? 0 : -1;
}

int main(void) {
  install_check_handler();
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR2);
  sigaddset(&mask, SIGRTMIN + 1);
  SETUP_OR_DIE(sigprocmask(SIG_BLOCK, &mask, NULL) == 0, "sigprocmask: %s\n", strerror(errno));
  int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  SETUP_OR_DIE(fd >= 0 && dup3(fd, FD_SIGNALS, O_CLOEXEC) == FD_SIGNALS, "signalfd: %s\n", strerror(errno));
  close(fd);
  SETUP_OR_DIE(raise(SIGUSR2) == 0, "raise: %s\n", strerror(errno));
  say("READY signalfd\n");
  wait_for_check();

  EXPECT_OR_FAIL(fcntl(FD_SIGNALS, F_GETFL) & O_NONBLOCK, "fd %d lost O_NONBLOCK\n", FD_SIGNALS);
  EXPECT_OR_FAIL(fcntl(FD_SIGNALS, F_GETFD) & FD_CLOEXEC, "fd %d lost FD_CLOEXEC\n", FD_SIGNALS);
  char path[64], text[512] = {0};
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", FD_SIGNALS);
  int info_fd = open(path, O_RDONLY);
  if (info_fd >= 0) {
    ssize_t got = read(info_fd, text, sizeof text - 1);
    (void)got;
    close(info_fd);
  }
  unsigned long long expected = (1ULL << (SIGUSR2 - 1)) | (1ULL << (SIGRTMIN + 1 - 1));
  char want[64];
  snprintf(want, sizeof want, "sigmask:\t%016llx", expected);
  EXPECT_OR_FAIL(strstr(text, want) != NULL, "fdinfo of fd %d does not show '%s':\n%s", FD_SIGNALS, want, text);

  struct signalfd_siginfo info;
  EXPECT_OR_FAIL(read_signal(&info) == 0 && info.ssi_signo == SIGUSR2, "the SIGUSR2 pending at the dump did not arrive (%s)\n",
                 strerror(errno));
  union sigval value = {.sival_int = 4242};
  EXPECT_OR_FAIL(sigqueue(getpid(), SIGRTMIN + 1, value) == 0, "sigqueue: %s\n", strerror(errno));
  memset(&info, 0, sizeof info);
  EXPECT_OR_FAIL(read_signal(&info) == 0 && info.ssi_signo == (uint32_t)(SIGRTMIN + 1) && info.ssi_int == 4242,
                 "SIGRTMIN+1 sent after restore arrived as signal %u value %d (%s)\n", info.ssi_signo, info.ssi_int, strerror(errno));
  EXPECT_OR_FAIL(read_signal(&info) < 0 && errno == EAGAIN, "fd %d is not empty at the end\n", FD_SIGNALS);
  finish();
}
