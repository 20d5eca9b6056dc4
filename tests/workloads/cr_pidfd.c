// Checkpoint/restore workload: pidfds of the holder, of a running child, of a zombie child and of
// the parent come back naming the same processes, with their flags and sharing.
//
//   cr_pidfd
//
//   init  fd 10  pidfd of the running child C       fd 11  dup(10)
//         fd 12  pidfd of the zombie child Z (exited with 7, not waited for)
//         fd 13  pidfd of itself, PIDFD_NONBLOCK    fd 14  pidfd of itself, PIDFD_THREAD
//   C     fd 20  pidfd of the init (its parent)
// On SIGUSR1: every pidfd's fdinfo shows the PID it named; fd 12 is readable and waitid(P_PIDFD)
// gives Z's exit status; fd 10 is not readable; the init wakes C, which checks that its fd 20
// signals the init (pidfd_send_signal, signal 0) and exits 0; fd 10 then becomes readable and
// waitid through fd 11 (one open file with fd 10) reaps C with its status.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { FD_CHILD = 10, FD_CHILD_DUP = 11, FD_ZOMBIE = 12, FD_SELF_NONBLOCK = 13, FD_SELF_THREAD = 14, FD_PARENT = 20 };

static int pidfd_open(pid_t pid, unsigned flags) { return (int)syscall(SYS_pidfd_open, pid, flags); }

// Keeps the close-on-exec flag every pidfd is born with.
static void move_to(int fd, int number) {
  SETUP_OR_DIE(fd >= 0 && dup3(fd, number, O_CLOEXEC) == number, "create fd %d: %s\n", number, strerror(errno));
  close(fd);
}

// The "Pid:" of a pidfd's fdinfo, in the tree's /proc.
static long fdinfo_pid(int fd) {
  char path[64], text[512];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  int in = open(path, O_RDONLY);
  if (in < 0) return -2;
  ssize_t n = read(in, text, sizeof text - 1);
  close(in);
  if (n <= 0) return -2;
  text[n] = 0;
  char* at = strstr(text, "\nPid:");
  return at ? strtol(at + 5, NULL, 10) : -2;
}

static int readable(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void await(int fd) {
  char byte;
  while (read(fd, &byte, 1) < 0 && errno == EINTR) {
  }
}

int main(void) {
  install_check_handler();
  int wake[2];
  SETUP_OR_DIE(pipe(wake) == 0, "pipe: %s\n", strerror(errno));
  pid_t init = getpid();
  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) {
    close(wake[1]);
    move_to(pidfd_open(init, 0), FD_PARENT);
    await(wake[0]);
    EXPECT_OR_FAIL(fdinfo_pid(FD_PARENT) == init, "child: fd %d names pid %ld, not the init %d\n", FD_PARENT, fdinfo_pid(FD_PARENT), init);
    EXPECT_OR_FAIL(syscall(SYS_pidfd_send_signal, FD_PARENT, 0, NULL, 0) == 0, "child: pidfd_send_signal through fd %d: %s\n",
                   FD_PARENT, strerror(errno));
    EXPECT_OR_FAIL(fcntl(FD_PARENT, F_GETFD) & FD_CLOEXEC, "child: fd %d lost FD_CLOEXEC\n", FD_PARENT);
    _exit(problems_found == 0 ? 0 : 1);
  }
  close(wake[0]);
  move_to(pidfd_open(child, 0), FD_CHILD);
  SETUP_OR_DIE(dup2(FD_CHILD, FD_CHILD_DUP) == FD_CHILD_DUP, "dup2: %s\n", strerror(errno));
  pid_t zombie = fork();
  SETUP_OR_DIE(zombie >= 0, "fork: %s\n", strerror(errno));
  if (zombie == 0) _exit(7);
  move_to(pidfd_open(zombie, 0), FD_ZOMBIE);  // pidfd_open takes a zombie: it is not reaped yet.
  move_to(pidfd_open(init, O_NONBLOCK), FD_SELF_NONBLOCK);
  move_to(pidfd_open(init, O_EXCL), FD_SELF_THREAD);
  siginfo_t info;
  while (waitid(P_PID, zombie, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
  }
  say("READY pidfd\n");
  wait_for_check();

  EXPECT_OR_FAIL(fdinfo_pid(FD_CHILD) == child, "fd %d names pid %ld, not the child %d\n", FD_CHILD, fdinfo_pid(FD_CHILD), child);
  EXPECT_OR_FAIL(fdinfo_pid(FD_ZOMBIE) == zombie, "fd %d names pid %ld, not the zombie %d\n", FD_ZOMBIE, fdinfo_pid(FD_ZOMBIE), zombie);
  EXPECT_OR_FAIL(fdinfo_pid(FD_SELF_NONBLOCK) == init && fdinfo_pid(FD_SELF_THREAD) == init, "fds %d and %d do not name the init\n",
                 FD_SELF_NONBLOCK, FD_SELF_THREAD);
  EXPECT_OR_FAIL(fcntl(FD_SELF_NONBLOCK, F_GETFL) & O_NONBLOCK, "fd %d lost PIDFD_NONBLOCK\n", FD_SELF_NONBLOCK);
  EXPECT_OR_FAIL(!(fcntl(FD_CHILD, F_GETFL) & O_NONBLOCK), "fd %d gained O_NONBLOCK\n", FD_CHILD);
  EXPECT_OR_FAIL(!(fcntl(FD_CHILD_DUP, F_GETFD) & FD_CLOEXEC), "fd %d (a dup2) gained FD_CLOEXEC\n", FD_CHILD_DUP);
  EXPECT_OR_FAIL(fcntl(FD_SELF_THREAD, F_GETFL) & O_EXCL, "fd %d lost PIDFD_THREAD\n", FD_SELF_THREAD);
  EXPECT_OR_FAIL(syscall(SYS_kcmp, init, init, KCMP_FILE, FD_CHILD, FD_CHILD_DUP) == 0, "fds %d and %d are no longer one open file\n",
                 FD_CHILD, FD_CHILD_DUP);
  EXPECT_OR_FAIL(readable(FD_ZOMBIE), "fd %d (an exited child) is not readable\n", FD_ZOMBIE);
  EXPECT_OR_FAIL(!readable(FD_CHILD), "fd %d (a running child) is readable\n", FD_CHILD);
  memset(&info, 0, sizeof info);
  EXPECT_OR_FAIL(waitid(P_PIDFD, FD_ZOMBIE, &info, WEXITED) == 0 && info.si_pid == zombie && info.si_code == CLD_EXITED &&
                     info.si_status == 7,
                 "waitid through fd %d: %s, pid %d code %d status %d\n", FD_ZOMBIE, strerror(errno), info.si_pid, info.si_code,
                 info.si_status);
  char byte = 1;
  EXPECT_OR_FAIL(write(wake[1], &byte, 1) == 1, "wake the child: %s\n", strerror(errno));
  struct pollfd p = {.fd = FD_CHILD, .events = POLLIN};
  EXPECT_OR_FAIL(poll(&p, 1, 10000) == 1, "fd %d never became readable after the child exited\n", FD_CHILD);
  memset(&info, 0, sizeof info);
  EXPECT_OR_FAIL(waitid(P_PIDFD, FD_CHILD_DUP, &info, WEXITED) == 0 && info.si_pid == child && info.si_code == CLD_EXITED &&
                     info.si_status == 0,
                 "waitid through fd %d: %s, pid %d code %d status %d (the child's own checks failed?)\n", FD_CHILD_DUP, strerror(errno),
                 info.si_pid, info.si_code, info.si_status);
  finish();
}
