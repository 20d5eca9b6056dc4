// Checkpoint/restore workload: files of the tree's own /proc held open come back naming the same
// things, at their positions, with their flags.
//
//   cr_procfiles
//
// The init (pid 1 of the tree) opens /proc/loadavg (fd 20), reads 2 bytes, and forks a child
// (comm "procchild") that shares that open file; then it holds
//   fd 10  /proc/uptime            read 3 bytes (position 3)
//   fd 11  /proc/self/stat         its own; read 5 bytes
//   fd 12  /proc/CHILD/stat        the child's; read 7 bytes
//   fd 13  /proc                   a directory fd (a ps-like program's), used with openat
//   fd 14  /proc/self/fd           a directory fd, used with readlinkat
//   fd 15  /proc/sys/kernel/ostype O_RDONLY|O_NONBLOCK
//   fd 16  dup of fd 10            shares its position
//   fd 17  /proc/self/clear_refs   O_WRONLY
//   fd 18  /proc/self/mem          O_RDWR, positioned at the address of a variable
//   fd 19  /proc/thread-self/status
// and the child holds
//   fd 10  /proc/self/stat         its own; read 4 bytes
//   fd 11  /proc/1/status          its parent's (/proc/PID of another process of the tree)
//   fd 20  /proc/loadavg           the parent's open file: after restore the child finds it at 2
//                                  and moves it to 9, and the parent sees 9
// On SIGUSR1 each checks that every fd has its position and flags, and names what it named: its own
// stat shows its own PID and comm, the child's shows the child, /proc/uptime reads the tree's
// (namespaced) boot time, the /proc directory reaches the child, /proc/self/mem reads and writes
// this process's memory.
//
//   cr_procfiles --mode=MODE [--path=PATH]
//
// What a dump must refuse, set up and then waiting (the dump fails; the check then passes):
//   outside  PATH, a file of another /proc (the host's, bind-mounted by the test)
//   thread   /proc/thread-self/stat opened by a second thread
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { UPTIME = 10, SELF_STAT = 11, CHILD_STAT = 12, PROC_DIR = 13, SELF_FD_DIR = 14, OSTYPE = 15, UPTIME_DUP = 16,
       CLEAR_REFS = 17, SELF_MEM = 18, THREAD_STATUS = 19 };
enum { CHILD_OWN_STAT = 10, PARENT_STATUS = 11 };
enum { LOADAVG = 20, CONTROL_READ = 30, CONTROL_WRITE = 31 };

static volatile uint64_t mem_target = 0x1122334455667788ull;

static int open_at(const char* path, int flags, int number) {
  int fd = open(path, flags);
  SETUP_OR_DIE(fd >= 0, "open(%s, %#o): %s\n", path, flags, strerror(errno));
  SETUP_OR_DIE(dup2(fd, number) == number, "dup2: %s\n", strerror(errno));
  close(fd);
  return number;
}

static void read_some(int fd, size_t count) {
  char buffer[64];
  SETUP_OR_DIE(read(fd, buffer, count) == (ssize_t)count, "read %zu bytes of fd %d: %s\n", count, fd, strerror(errno));
}

// The whole text of fd from its start (the position is set back by the caller's checks first).
static ssize_t text_from_start(int fd, char* buffer, size_t size) {
  if (lseek(fd, 0, SEEK_SET) != 0) return -1;
  size_t got = 0;
  while (got + 1 < size) {
    ssize_t n = read(fd, buffer + got, size - 1 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    got += (size_t)n;
  }
  buffer[got] = 0;
  return (ssize_t)got;
}

// "PID (COMM) ..." of a /proc/PID/stat text.
static int stat_names(const char* text, int pid, const char* comm) {
  char want[64];
  snprintf(want, sizeof want, "%d (%s) ", pid, comm);
  return strncmp(text, want, strlen(want)) == 0;
}

#define EXPECT_POS(fd, want) \
  EXPECT_OR_FAIL(lseek(fd, 0, SEEK_CUR) == (off_t)(want), "fd %d: position %lld, was %lld\n", fd, (long long)lseek(fd, 0, SEEK_CUR), (long long)(want))
#define EXPECT_FLAGS(fd, want) \
  EXPECT_OR_FAIL(fcntl(fd, F_GETFL) == (want), "fd %d: flags %#x, were %#x\n", fd, fcntl(fd, F_GETFL), (want))

static int child_main(void) {
  close(CONTROL_WRITE);
  prctl(PR_SET_NAME, "procchild", 0, 0, 0);
  open_at("/proc/self/stat", O_RDONLY, CHILD_OWN_STAT);
  read_some(CHILD_OWN_STAT, 4);
  open_at("/proc/1/status", O_RDONLY, PARENT_STATUS);
  int own_flags = fcntl(CHILD_OWN_STAT, F_GETFL);
  char go = 0;
  ssize_t n;
  while ((n = read(CONTROL_READ, &go, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1 || go != 'g') return 20;
  if (lseek(CHILD_OWN_STAT, 0, SEEK_CUR) != 4) return 21;
  if (fcntl(CHILD_OWN_STAT, F_GETFL) != own_flags) return 22;
  char text[4096];
  if (text_from_start(CHILD_OWN_STAT, text, sizeof text) <= 0) return 23;
  if (!stat_names(text, getpid(), "procchild")) return 24;
  if (text_from_start(PARENT_STATUS, text, sizeof text) <= 0) return 25;
  if (!strstr(text, "Name:\tcr_procfiles\n") || !strstr(text, "\nPid:\t1\n")) return 26;
  if (lseek(LOADAVG, 0, SEEK_CUR) != 2) return 27;
  if (lseek(LOADAVG, 9, SEEK_SET) != 9) return 28;
  return 0;
}

static volatile int thread_opened;

// A second thread, alive at the dump, holding the file of its own thread.
static void* thread_opens(void* arg) {
  (void)arg;
  open_at("/proc/thread-self/stat", O_RDONLY, 20);
  thread_opened = 1;
  for (;;) pause();
  return NULL;
}

static void refused_setup(const char* mode, const char* path) {
  if (strcmp(mode, "outside") == 0) {
    SETUP_OR_DIE(path != NULL, "--mode=outside needs --path\n");
    open_at(path, O_RDONLY, 20);
  } else if (strcmp(mode, "thread") == 0) {
    pthread_t thread;
    SETUP_OR_DIE(pthread_create(&thread, NULL, thread_opens, NULL) == 0, "pthread_create\n");
    while (!thread_opened) sleep_ms(1);
  } else {
    SETUP_OR_DIE(0, "unknown mode %s\n", mode);
  }
  say("READY procfiles %s\n", mode);
  wait_for_check();
  finish();
}

int main(int argc, char** argv) {
  install_check_handler();
  const char* mode = arg_string(argc, argv, "mode", NULL);
  if (mode) refused_setup(mode, arg_string(argc, argv, "path", NULL));

  int control[2];
  SETUP_OR_DIE(pipe(control) == 0, "pipe: %s\n", strerror(errno));
  SETUP_OR_DIE(dup2(control[0], CONTROL_READ) == CONTROL_READ && dup2(control[1], CONTROL_WRITE) == CONTROL_WRITE, "dup2: %s\n",
               strerror(errno));
  close(control[0]);
  close(control[1]);
  open_at("/proc/loadavg", O_RDONLY, LOADAVG);
  read_some(LOADAVG, 2);
  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) _exit(child_main());
  close(CONTROL_READ);

  char path[64];
  open_at("/proc/uptime", O_RDONLY, UPTIME);
  read_some(UPTIME, 3);
  open_at("/proc/self/stat", O_RDONLY, SELF_STAT);
  read_some(SELF_STAT, 5);
  snprintf(path, sizeof path, "/proc/%d/stat", (int)child);
  // The child names itself first: wait until its stat shows it (the text is generated on read).
  for (int tries = 0;; ++tries) {
    char text[4096];
    int probe = open_at(path, O_RDONLY, CHILD_STAT);
    if (text_from_start(probe, text, sizeof text) > 0 && stat_names(text, child, "procchild")) break;
    SETUP_OR_DIE(tries < 2000, "the child never named itself procchild\n");
    sleep_ms(5);
  }
  lseek(CHILD_STAT, 0, SEEK_SET);
  read_some(CHILD_STAT, 7);
  open_at("/proc", O_RDONLY | O_DIRECTORY, PROC_DIR);
  open_at("/proc/self/fd", O_RDONLY | O_DIRECTORY, SELF_FD_DIR);
  open_at("/proc/sys/kernel/ostype", O_RDONLY | O_NONBLOCK, OSTYPE);
  SETUP_OR_DIE(dup2(UPTIME, UPTIME_DUP) == UPTIME_DUP, "dup2: %s\n", strerror(errno));
  open_at("/proc/self/clear_refs", O_WRONLY, CLEAR_REFS);
  open_at("/proc/self/mem", O_RDWR, SELF_MEM);
  SETUP_OR_DIE(lseek(SELF_MEM, (off_t)(uintptr_t)&mem_target, SEEK_SET) == (off_t)(uintptr_t)&mem_target, "lseek mem: %s\n", strerror(errno));
  open_at("/proc/thread-self/status", O_RDONLY, THREAD_STATUS);
  int flags[20];
  for (int fd = UPTIME; fd <= THREAD_STATUS; ++fd) flags[fd] = fcntl(fd, F_GETFL);
  say("READY procfiles\n");
  wait_for_check();

  for (int fd = UPTIME; fd <= THREAD_STATUS; ++fd) EXPECT_FLAGS(fd, flags[fd]);
  EXPECT_OR_FAIL((flags[OSTYPE] & O_NONBLOCK) && (flags[CLEAR_REFS] & O_ACCMODE) == O_WRONLY && (flags[SELF_MEM] & O_ACCMODE) == O_RDWR,
                 "flags before the dump: ostype %#x, clear_refs %#x, mem %#x\n", flags[OSTYPE], flags[CLEAR_REFS], flags[SELF_MEM]);
  EXPECT_POS(UPTIME, 3);
  EXPECT_POS(SELF_STAT, 5);
  EXPECT_POS(CHILD_STAT, 7);
  EXPECT_POS(SELF_MEM, (uintptr_t)&mem_target);

  // fd 16 is fd 10's open file: moving one moves the other.
  EXPECT_OR_FAIL(lseek(UPTIME_DUP, 1, SEEK_SET) == 1 && lseek(UPTIME, 0, SEEK_CUR) == 1, "fds %d and %d no longer share a position\n",
                 UPTIME, UPTIME_DUP);

  char text[4096];
  double up = 0;
  EXPECT_OR_FAIL(text_from_start(UPTIME, text, sizeof text) > 0 && sscanf(text, "%lf", &up) == 1, "fd %d: no uptime\n", UPTIME);
  double boottime = (double)clock_ns(CLOCK_BOOTTIME) / 1e9;
  EXPECT_OR_FAIL(up > boottime - 2 && up < boottime + 2, "fd %d reads uptime %.2f, the tree's CLOCK_BOOTTIME is %.2f\n", UPTIME, up, boottime);

  EXPECT_OR_FAIL(text_from_start(SELF_STAT, text, sizeof text) > 0 && stat_names(text, getpid(), "cr_procfiles"),
                 "fd %d (/proc/self/stat) reads '%.40s', not pid %d (cr_procfiles)\n", SELF_STAT, text, (int)getpid());
  EXPECT_OR_FAIL(text_from_start(CHILD_STAT, text, sizeof text) > 0 && stat_names(text, child, "procchild"),
                 "fd %d (/proc/%d/stat) reads '%.40s', not the child\n", CHILD_STAT, (int)child, text);
  EXPECT_OR_FAIL(text_from_start(THREAD_STATUS, text, sizeof text) > 0 && strstr(text, "Name:\tcr_procfiles\n") && strstr(text, "\nPid:\t1\n"),
                 "fd %d (/proc/thread-self/status) reads '%.60s'\n", THREAD_STATUS, text);
  EXPECT_OR_FAIL(text_from_start(OSTYPE, text, sizeof text) > 0 && strcmp(text, "Linux\n") == 0, "fd %d (ostype) reads '%s'\n", OSTYPE, text);

  // The /proc directory fd reaches the child's files, and /proc/self/fd names this process's fds.
  snprintf(path, sizeof path, "%d/comm", (int)child);
  int comm = openat(PROC_DIR, path, O_RDONLY | O_CLOEXEC);
  EXPECT_OR_FAIL(comm >= 0 && read(comm, text, sizeof text) == 10 && memcmp(text, "procchild\n", 10) == 0,
                 "openat(fd %d, %s) does not read the child's comm\n", PROC_DIR, path);
  if (comm >= 0) close(comm);
  ssize_t length = readlinkat(SELF_FD_DIR, "10", text, sizeof text - 1);
  if (length >= 0) text[length] = 0;
  EXPECT_OR_FAIL(length > 0 && strcmp(text, "/proc/uptime") == 0, "readlinkat(fd %d, \"10\") gives '%s'\n", SELF_FD_DIR, length > 0 ? text : "");

  EXPECT_OR_FAIL(write(CLEAR_REFS, "1", 1) == 1, "write to fd %d (clear_refs): %s\n", CLEAR_REFS, strerror(errno));
  uint64_t seen = 0, now = 0xaabbccddeeff0011ull;
  EXPECT_OR_FAIL(read(SELF_MEM, &seen, sizeof seen) == sizeof seen && seen == mem_target, "fd %d (/proc/self/mem) reads %#llx, not %#llx\n",
                 SELF_MEM, (unsigned long long)seen, (unsigned long long)mem_target);
  EXPECT_OR_FAIL(pwrite(SELF_MEM, &now, sizeof now, (off_t)(uintptr_t)&mem_target) == sizeof now && mem_target == now,
                 "a write through fd %d (/proc/self/mem) did not reach this process's memory\n", SELF_MEM);

  SETUP_OR_DIE(write(CONTROL_WRITE, "g", 1) == 1, "write: %s\n", strerror(errno));
  int status = 0;
  EXPECT_OR_FAIL(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                 "the child's check failed (status %#x: exit code is the failed check)\n", status);
  EXPECT_OR_FAIL(lseek(LOADAVG, 0, SEEK_CUR) == 9, "fd %d (/proc/loadavg) is at %lld: the child moved it to 9 in the open file they share\n",
                 LOADAVG, (long long)lseek(LOADAVG, 0, SEEK_CUR));
  finish();
}
