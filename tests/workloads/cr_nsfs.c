// Checkpoint/restore workload: files held open on namespaces (nsfs) come back on the restored
// tree's namespaces of the same types, with their fd flags and shared open files.
//
//   cr_nsfs [--fork]
//
// The init opens /proc/self/ns/X at these numbers:
//   10 pid   11 time   12 ipc   13 net   14 mnt   15 uts   16 user   17 cgroup
//   18 pid_for_children (a pid namespace)   19 time_for_children (a time namespace)
//   20 a dup of 13 with FD_CLOEXEC (one open file)   21 net again, O_PATH (another open file)
// pid, time, ipc and mnt are the tree's own (cryo run makes them), the others the host's it shares.
// On SIGUSR1 each fd must be a file of the namespace the process is in now (its inode is the one of
// stat("/proc/self/ns/X")), of the right type (ioctl NS_GET_NSTYPE), 20 and 13 one open file and 21
// another (kcmp), FD_CLOEXEC only on 20, and a child must be able to setns() into 15 and 13.
// With --fork, a child forked after the opens holds the same open files, and opens /proc/1/ns/ipc
// (the init's) at 22: the init checks them through the child's /proc/PID/fd.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/kcmp.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cr_common.h"

struct ns_fd {
  int fd;
  const char* entry;  // Of /proc/self/ns.
  const char* type;   // The namespace type nsfs names it.
  int nstype;
  int flags;
};

static const struct ns_fd opened[] = {
    {10, "pid", "pid", CLONE_NEWPID, O_RDONLY},
    {11, "time", "time", CLONE_NEWTIME, O_RDONLY},
    {12, "ipc", "ipc", CLONE_NEWIPC, O_RDONLY},
    {13, "net", "net", CLONE_NEWNET, O_RDONLY},
    {14, "mnt", "mnt", CLONE_NEWNS, O_RDONLY},
    {15, "uts", "uts", CLONE_NEWUTS, O_RDONLY},
    {16, "user", "user", CLONE_NEWUSER, O_RDONLY},
    {17, "cgroup", "cgroup", CLONE_NEWCGROUP, O_RDONLY},
    {18, "pid_for_children", "pid", CLONE_NEWPID, O_RDONLY},
    {19, "time_for_children", "time", CLONE_NEWTIME, O_RDONLY},
    {21, "net", "net", CLONE_NEWNET, O_PATH},
};
enum { NET = 13, UTS = 15, NET_DUP = 20, NET_PATH = 21, CHILD_IPC = 22 };

static void open_at(const char* path, int flags, int at) {
  int fd = open(path, flags);
  SETUP_OR_DIE(fd >= 0, "open %s: %s\n", path, strerror(errno));
  if (fd != at) {
    SETUP_OR_DIE(dup2(fd, at) == at, "dup2 %d: %s\n", at, strerror(errno));
    close(fd);
  }
}

static int same_file(pid_t a, int fd_a, pid_t b, int fd_b) {
  return syscall(SYS_kcmp, a, b, KCMP_FILE, fd_a, fd_b) == 0;
}

// The fd `path` leads to (an fd link of this or another process) is a file of the namespace
// /proc/self/ns/`entry` is now.
static void expect_namespace(const char* who, const char* path, const char* entry) {
  char own[64];
  snprintf(own, sizeof own, "/proc/self/ns/%s", entry);
  struct stat held, now;
  if (stat(path, &held) != 0 || stat(own, &now) != 0) {
    EXPECT_OR_FAIL(0, "%s: stat %s or %s: %s\n", who, path, own, strerror(errno));
    return;
  }
  EXPECT_OR_FAIL(held.st_dev == now.st_dev && held.st_ino == now.st_ino,
                 "%s: %s is namespace inode %llu, %s is %llu\n", who, path, (unsigned long long)held.st_ino, own,
                 (unsigned long long)now.st_ino);
}

// A child joins the namespace of `fd`: the file is a namespace one can enter, not only a number.
static void expect_setns_works(int fd, int nstype, const char* type) {
  pid_t child = fork();
  if (child == 0) _exit(setns(fd, nstype) == 0 ? 0 : 1);
  int status = 0;
  EXPECT_OR_FAIL(child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                 "setns into fd %d (%s) failed in a child\n", fd, type);
}

static void check(pid_t child) {
  char path[64];
  for (size_t i = 0; i < sizeof opened / sizeof opened[0]; ++i) {
    const struct ns_fd* n = &opened[i];
    snprintf(path, sizeof path, "/proc/self/fd/%d", n->fd);
    expect_namespace("init", path, n->entry);
    if (n->flags != O_PATH) {
      int type = ioctl(n->fd, NS_GET_NSTYPE);
      EXPECT_OR_FAIL(type == n->nstype, "fd %d: NS_GET_NSTYPE gives %d, not %d (%s)\n", n->fd, type, n->nstype, n->type);
    }
    int flags = fcntl(n->fd, F_GETFL);
    EXPECT_OR_FAIL((flags & (O_ACCMODE | O_PATH)) == n->flags, "fd %d: flags %#x, opened with %#x\n", n->fd, flags, n->flags);
    EXPECT_OR_FAIL(fcntl(n->fd, F_GETFD) == 0, "fd %d has FD_CLOEXEC\n", n->fd);
  }
  snprintf(path, sizeof path, "/proc/self/fd/%d", NET_DUP);
  expect_namespace("init", path, "net");
  EXPECT_OR_FAIL(fcntl(NET_DUP, F_GETFD) == FD_CLOEXEC, "fd %d lost FD_CLOEXEC\n", NET_DUP);
  EXPECT_OR_FAIL(same_file(getpid(), NET, getpid(), NET_DUP), "fds %d and %d are not one open file\n", NET, NET_DUP);
  EXPECT_OR_FAIL(!same_file(getpid(), NET, getpid(), NET_PATH), "fds %d and %d are one open file\n", NET, NET_PATH);
  expect_setns_works(UTS, CLONE_NEWUTS, "uts");
  expect_setns_works(NET, CLONE_NEWNET, "net");
  if (child > 0) {
    for (size_t i = 0; i < sizeof opened / sizeof opened[0]; ++i) {
      snprintf(path, sizeof path, "/proc/%d/fd/%d", child, opened[i].fd);
      expect_namespace("child", path, opened[i].entry);
      EXPECT_OR_FAIL(same_file(getpid(), opened[i].fd, child, opened[i].fd), "the child's fd %d is not the init's open file\n",
                     opened[i].fd);
    }
    snprintf(path, sizeof path, "/proc/%d/fd/%d", child, CHILD_IPC);
    expect_namespace("child", path, "ipc");
    EXPECT_OR_FAIL(!same_file(getpid(), 12, child, CHILD_IPC), "the child's fd %d is the init's fd 12\n", CHILD_IPC);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
  }
}

int main(int argc, char** argv) {
  int fork_child = 0;
  for (int i = 1; i < argc; ++i)
    if (strcmp(argv[i], "--fork") == 0) fork_child = 1;
  install_check_handler();
  char path[64];
  for (size_t i = 0; i < sizeof opened / sizeof opened[0]; ++i) {
    snprintf(path, sizeof path, "/proc/self/ns/%s", opened[i].entry);
    open_at(path, opened[i].flags, opened[i].fd);
  }
  SETUP_OR_DIE(fcntl(NET, F_DUPFD_CLOEXEC, NET_DUP) == NET_DUP, "F_DUPFD_CLOEXEC: %s\n", strerror(errno));
  pid_t child = 0;
  if (fork_child) {
    child = fork();
    SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
    if (child == 0) {
      open_at("/proc/1/ns/ipc", O_RDONLY, CHILD_IPC);
      for (;;) pause();
    }
    // The child's open must be in place before the dump may look.
    snprintf(path, sizeof path, "/proc/%d/fd/%d", child, CHILD_IPC);
    while (access(path, F_OK) != 0) sleep_ms(1);
  }
  say("READY nsfs\n");
  wait_for_check();
  check(child);
  finish();
}
