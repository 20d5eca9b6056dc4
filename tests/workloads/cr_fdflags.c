// Checkpoint/restore workload: every kind of fd keeps its exact file status flags, its
// close-on-exec flag, its O_ASYNC owner and signal, and (pipes) its size and packet mode.
//
//   --dir=DIR (an existing empty directory)
//
//   P1 init, P2 its child (forked after P1 made every fd below, so P2 shares those open files).
//   pipe A   read end O_NONBLOCK, held by P1, by P2 and dup'ed in P2 (one open file); a second open
//            file of the same read end (opened through /proc/self/fd) stays blocking; 256 KiB.
//   pipe B   pipe2(O_NONBLOCK), then the read end made blocking: only the write end is non-blocking;
//            an O_RDWR open of it through /proc/self/fd, non-blocking.
//   pipe C   pipe2(O_DIRECT) (packet mode), the write end also O_NONBLOCK. After restore two writes of
//            100 and 200 bytes must come out as two reads of 100 and 200 bytes. --packets=1 writes
//            them before the dump instead, which the dump must refuse (their boundaries are lost).
//   pipe E   read end O_ASYNC|O_NONBLOCK, owner P2's thread (F_SETOWN_EX F_OWNER_TID), signal
//            SIGRTMIN+1: after restore P1 writes one byte and P2 must get SIGRTMIN+1 with si_fd.
//   pipe F   P2's own: write end O_NONBLOCK only.
//   files    DIR/append O_WRONLY|O_APPEND (shared with P2, which opens it again O_APPEND|O_NONBLOCK),
//            DIR/noatime O_RDONLY|O_NOATIME, DIR/sync O_WRONLY|O_SYNC, DIR/dsync O_RDWR|O_DSYNC,
//            an O_PATH fd of DIR/append, a deleted file O_RDWR|O_APPEND, a memfd with O_APPEND|O_NONBLOCK,
//            /dev/null O_RDWR|O_APPEND|O_NONBLOCK.
//   sockets  a socketpair with only one end O_NONBLOCK, that end O_ASYNC with P1 (F_OWNER_PID) as
//            owner and the default signal (SIGIO): after restore P1 writes into the other end and
//            must get SIGIO; a socketpair end whose peer closed, O_NONBLOCK; a TCP listener with
//            SOCK_NONBLOCK.
//   anon     eventfd, timerfd, signalfd, epoll: each once with O_NONBLOCK and once without.
// Some fds have FD_CLOEXEC. Each process records fcntl F_GETFL, F_GETFD, F_GETOWN_EX, F_GETSIG
// (and F_GETPIPE_SZ) of every fd before READY and compares after restore.
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { MAX_TRACKED = 64, PACKET_1 = 100, PACKET_2 = 200, PIPE_A_SIZE = 256 * 1024 };

struct tracked {
  int fd;
  const char* name;
  int status_flags;  // F_GETFL
  int fd_flags;      // F_GETFD
  struct f_owner_ex owner;
  int signal;
  int pipe_size;     // F_GETPIPE_SZ, or -1
};

static struct tracked table[MAX_TRACKED];
static int tracked_count;
static const char* who = "P1";

static void record(int fd, const char* name) {
  SETUP_OR_DIE(tracked_count < MAX_TRACKED, "too many fds\n");
  struct tracked* t = &table[tracked_count++];
  t->fd = fd;
  t->name = name;
  t->status_flags = fcntl(fd, F_GETFL);
  t->fd_flags = fcntl(fd, F_GETFD);
  SETUP_OR_DIE(t->status_flags >= 0 && t->fd_flags >= 0, "%s: fcntl(%s): %s\n", who, name, strerror(errno));
  // An O_PATH fd has no owner (F_GETOWN_EX is EBADF there): recorded as type -1.
  if (fcntl(fd, F_GETOWN_EX, &t->owner) != 0) t->owner.type = -1;
  t->signal = fcntl(fd, F_GETSIG);
  t->pipe_size = fcntl(fd, F_GETPIPE_SZ);
}

static void check_table(void) {
  for (int i = 0; i < tracked_count; ++i) {
    const struct tracked* t = &table[i];
    int status_flags = fcntl(t->fd, F_GETFL), fd_flags = fcntl(t->fd, F_GETFD);
    EXPECT_OR_FAIL(status_flags == t->status_flags, "%s: fd %d (%s): F_GETFL %#o, was %#o\n", who, t->fd, t->name,
                   status_flags, t->status_flags);
    EXPECT_OR_FAIL(fd_flags == t->fd_flags, "%s: fd %d (%s): F_GETFD %d, was %d\n", who, t->fd, t->name, fd_flags,
                   t->fd_flags);
    struct f_owner_ex owner = {0, 0};
    if (fcntl(t->fd, F_GETOWN_EX, &owner) != 0) owner.type = -1;
    EXPECT_OR_FAIL(owner.type == t->owner.type && owner.pid == t->owner.pid,
                   "%s: fd %d (%s): owner type %d pid %d, was type %d pid %d\n", who, t->fd, t->name, owner.type,
                   (int)owner.pid, t->owner.type, (int)t->owner.pid);
    int signal = fcntl(t->fd, F_GETSIG);
    EXPECT_OR_FAIL(signal == t->signal, "%s: fd %d (%s): F_GETSIG %d, was %d\n", who, t->fd, t->name, signal, t->signal);
    int pipe_size = fcntl(t->fd, F_GETPIPE_SZ);
    EXPECT_OR_FAIL(pipe_size == t->pipe_size, "%s: fd %d (%s): F_GETPIPE_SZ %d, was %d\n", who, t->fd, t->name,
                   pipe_size, t->pipe_size);
  }
}

static void set_flags(int fd, int flags, const char* name) {
  SETUP_OR_DIE(fcntl(fd, F_SETFL, flags) == 0, "%s: F_SETFL(%s, %#o): %s\n", who, name, flags, strerror(errno));
}

static void cloexec(int fd) { SETUP_OR_DIE(fcntl(fd, F_SETFD, FD_CLOEXEC) == 0, "F_SETFD: %s\n", strerror(errno)); }

static int open_in(const char* dir, const char* name, int flags) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, flags, 0600);
  SETUP_OR_DIE(fd >= 0, "%s: open(%s, %#o): %s\n", who, path, flags, strerror(errno));
  return fd;
}

static int reopen_fd(int fd, int flags) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  int opened = open(path, flags);
  SETUP_OR_DIE(opened >= 0, "%s: open(%s, %#o): %s\n", who, path, flags, strerror(errno));
  return opened;
}

static void make_pipe(int ends[2], int flags, const char* name) {
  SETUP_OR_DIE(pipe2(ends, flags) == 0, "pipe2(%s): %s\n", name, strerror(errno));
}

// Signals that must arrive after the restore.
static volatile sig_atomic_t rt_signals, rt_signal_fd = -1, rt_signal_code;
static volatile sig_atomic_t io_signals;

static void on_rt_signal(int signo, siginfo_t* info, void* context) {
  (void)signo;
  (void)context;
  ++rt_signals;
  rt_signal_fd = info->si_fd;
  rt_signal_code = info->si_code;
}

static void on_sigio(int signo) {
  (void)signo;
  ++io_signals;
}

static void handle(int signo, void (*action)(int, siginfo_t*, void*), void (*handler)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  if (action) {
    sa.sa_sigaction = action;
    sa.sa_flags = SA_SIGINFO;
  } else {
    sa.sa_handler = handler;
  }
  sigemptyset(&sa.sa_mask);
  SETUP_OR_DIE(sigaction(signo, &sa, NULL) == 0, "sigaction(%d): %s\n", signo, strerror(errno));
}

static int wait_for_count(volatile sig_atomic_t* count) {
  for (int i = 0; i < 500 && *count == 0; ++i) sleep_ms(10);
  return *count;
}

// A read that does not block (pipe C's read end does): -1 when nothing arrives within a second.
static ssize_t read_within(int fd, char* buffer, size_t size) {
  struct pollfd waiting = {fd, POLLIN, 0};
  if (poll(&waiting, 1, 1000) != 1) return -1;
  return read(fd, buffer, size);
}

static void write_byte(int fd, const char* name) {
  char byte = 'x';
  EXPECT_OR_FAIL(write(fd, &byte, 1) == 1, "%s: write(%s): %s\n", who, name, strerror(errno));
}

int main(int argc, char** argv) {
  install_check_handler();
  const char* dir = arg_string(argc, argv, "dir", NULL);
  SETUP_OR_DIE(dir != NULL, "--dir=DIR is required\n");
  SETUP_OR_DIE(getpid() == 1, "not the init of a PID namespace\n");
  handle(SIGRTMIN + 1, on_rt_signal, NULL);
  handle(SIGIO, NULL, on_sigio);

  int a[2], b[2], c[2], e[2];
  make_pipe(a, 0, "A");
  set_flags(a[0], O_NONBLOCK, "A read");
  SETUP_OR_DIE(fcntl(a[1], F_SETPIPE_SZ, PIPE_A_SIZE) == PIPE_A_SIZE, "F_SETPIPE_SZ: %s\n", strerror(errno));
  int a_second = reopen_fd(a[0], O_RDONLY);  // blocking, its own open file
  make_pipe(b, O_NONBLOCK, "B");
  set_flags(b[0], 0, "B read");
  int b_rdwr = reopen_fd(b[1], O_RDWR | O_NONBLOCK);
  cloexec(b[1]);
  make_pipe(c, O_DIRECT, "C");
  set_flags(c[1], O_DIRECT | O_NONBLOCK, "C write");
  char packet[PACKET_2];
  memset(packet, 'p', sizeof packet);
  // --packets=1: packets buffered at the dump, whose boundaries cryo refuses to lose.
  if (arg_number(argc, argv, "packets", 0))
    SETUP_OR_DIE(write(c[1], packet, PACKET_1) == PACKET_1 && write(c[1], packet, PACKET_2) == PACKET_2, "packets\n");
  make_pipe(e, 0, "E");
  // Refused at dump, one at a time: --tmpfile=1 an O_TMPFILE file (tmpfile(3)), --lease=1 a read
  // lease on DIR/noatime.
  if (arg_number(argc, argv, "tmpfile", 0)) SETUP_OR_DIE(tmpfile() != NULL, "tmpfile: %s\n", strerror(errno));
  int append = open_in(dir, "append", O_WRONLY | O_APPEND | O_CREAT);
  int noatime = open_in(dir, "noatime", O_RDONLY | O_NOATIME | O_CREAT);
  if (arg_number(argc, argv, "lease", 0)) SETUP_OR_DIE(fcntl(noatime, F_SETLEASE, F_RDLCK) == 0, "F_SETLEASE: %s\n", strerror(errno));
  int sync_fd = open_in(dir, "sync", O_WRONLY | O_SYNC | O_CREAT);
  int dsync = open_in(dir, "dsync", O_RDWR | O_DSYNC | O_CREAT);
  int path_fd = open_in(dir, "append", O_PATH);
  cloexec(path_fd);
  int deleted = open_in(dir, "deleted", O_RDWR | O_APPEND | O_CREAT);
  SETUP_OR_DIE(write(deleted, "deleted", 7) == 7, "write deleted\n");
  char deleted_path[4096];
  snprintf(deleted_path, sizeof deleted_path, "%s/deleted", dir);
  SETUP_OR_DIE(unlink(deleted_path) == 0, "unlink: %s\n", strerror(errno));
  int memfd = memfd_create("cr_fdflags", 0);
  SETUP_OR_DIE(memfd >= 0 && write(memfd, "memfd", 5) == 5, "memfd: %s\n", strerror(errno));
  set_flags(memfd, O_APPEND | O_NONBLOCK, "memfd");
  int null_fd = open("/dev/null", O_RDWR | O_APPEND | O_NONBLOCK);
  SETUP_OR_DIE(null_fd >= 0, "open /dev/null: %s\n", strerror(errno));

  int pair[2], orphan[2];
  SETUP_OR_DIE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair) == 0, "socketpair: %s\n", strerror(errno));
  set_flags(pair[1], 0, "pair[1]");
  SETUP_OR_DIE(socketpair(AF_UNIX, SOCK_STREAM, 0, orphan) == 0, "socketpair: %s\n", strerror(errno));
  close(orphan[1]);
  set_flags(orphan[0], O_NONBLOCK, "orphan");
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in any = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  SETUP_OR_DIE(listener >= 0 && bind(listener, (struct sockaddr*)&any, sizeof any) == 0 && listen(listener, 4) == 0,
               "listener: %s\n", strerror(errno));

  int event_nb = eventfd(3, EFD_NONBLOCK), event_b = eventfd(4, 0);
  int timer_nb = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK), timer_b = timerfd_create(CLOCK_MONOTONIC, 0);
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  int signal_nb = signalfd(-1, &usr2, SFD_NONBLOCK), signal_b = signalfd(-1, &usr2, 0);
  int epoll_nb = epoll_create1(0), epoll_b = epoll_create1(EPOLL_CLOEXEC);
  SETUP_OR_DIE(event_nb >= 0 && event_b >= 0 && timer_nb >= 0 && timer_b >= 0 && signal_nb >= 0 && signal_b >= 0 &&
                   epoll_nb >= 0 && epoll_b >= 0, "anon inodes: %s\n", strerror(errno));
  set_flags(epoll_nb, O_NONBLOCK, "epoll");

  // Learns when P2 has its own fds and its handlers.
  int ready[2];
  make_pipe(ready, 0, "ready");
  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) {
    who = "P2";
    close(ready[0]);
    close(a_second);
    close(b_rdwr);
    close(e[0]);
    close(e[1]);
    close(epoll_nb);  // the epoll sets are the init's alone here (cr_epoll_shared shares some)
    close(epoll_b);
    int a_dup = dup(a[0]);
    int append_again = open_in(dir, "append", O_WRONLY | O_APPEND | O_NONBLOCK);
    int f[2];
    make_pipe(f, 0, "F");
    set_flags(f[1], O_NONBLOCK, "F write");
    cloexec(f[0]);
    record(a[0], "pipe A read end, shared");
    record(a_dup, "pipe A read end, dup");
    record(b[1], "pipe B write end, inherited");
    record(append, "DIR/append, shared");
    record(append_again, "DIR/append, own open");
    record(f[0], "pipe F read end");
    record(f[1], "pipe F write end");
    record(pair[1], "socketpair blocking end, inherited");
    record(event_nb, "eventfd O_NONBLOCK, inherited");
    SETUP_OR_DIE(write(ready[1], "r", 1) == 1, "ready: %s\n", strerror(errno));
    close(ready[1]);
    wait_for_check();
    check_table();
    EXPECT_OR_FAIL(wait_for_count(&rt_signals) == 1, "P2: %d SIGRTMIN+1 arrived for pipe E (the owner), expected 1\n",
                   (int)rt_signals);
    EXPECT_OR_FAIL(rt_signals == 0 || (rt_signal_fd == e[0] && rt_signal_code == POLL_IN),
                   "P2: SIGRTMIN+1 came with si_fd %d si_code %d, expected %d and POLL_IN\n", (int)rt_signal_fd,
                   (int)rt_signal_code, e[0]);
    EXPECT_OR_FAIL(io_signals == 0, "P2: got SIGIO, whose owner is P1\n");
    _exit(problems_found == 0 ? 0 : 1);
  }
  close(ready[1]);
  char byte;
  SETUP_OR_DIE(read(ready[0], &byte, 1) == 1, "P2 did not start\n");
  close(ready[0]);

  struct f_owner_ex to_child = {F_OWNER_TID, child};
  SETUP_OR_DIE(fcntl(e[0], F_SETOWN_EX, &to_child) == 0 && fcntl(e[0], F_SETSIG, SIGRTMIN + 1) == 0,
               "owner of pipe E: %s\n", strerror(errno));
  set_flags(e[0], O_ASYNC | O_NONBLOCK, "E read");
  struct f_owner_ex to_self = {F_OWNER_PID, getpid()};
  SETUP_OR_DIE(fcntl(pair[0], F_SETOWN_EX, &to_self) == 0, "owner of pair[0]: %s\n", strerror(errno));
  set_flags(pair[0], O_ASYNC | O_NONBLOCK, "pair[0]");

  record(a[0], "pipe A read end, shared");
  record(a[1], "pipe A write end");
  record(a_second, "pipe A read end, second open file");
  record(b[0], "pipe B read end");
  record(b[1], "pipe B write end");
  record(b_rdwr, "pipe B O_RDWR open");
  record(c[0], "pipe C read end (packets)");
  record(c[1], "pipe C write end (packets)");
  record(e[0], "pipe E read end (O_ASYNC)");
  record(e[1], "pipe E write end");
  record(append, "DIR/append, shared");
  record(noatime, "DIR/noatime");
  record(sync_fd, "DIR/sync");
  record(dsync, "DIR/dsync");
  record(path_fd, "DIR/append O_PATH");
  record(deleted, "deleted file");
  record(memfd, "memfd");
  record(null_fd, "/dev/null");
  record(pair[0], "socketpair O_ASYNC end");
  record(pair[1], "socketpair blocking end");
  record(orphan[0], "socket whose peer closed");
  record(listener, "TCP listener");
  record(event_nb, "eventfd O_NONBLOCK");
  record(event_b, "eventfd");
  record(timer_nb, "timerfd O_NONBLOCK");
  record(timer_b, "timerfd");
  record(signal_nb, "signalfd O_NONBLOCK");
  record(signal_b, "signalfd");
  record(epoll_nb, "epoll O_NONBLOCK");
  record(epoll_b, "epoll");
  say("READY P2=%d\n", (int)child);

  wait_for_check();
  EXPECT_OR_FAIL(kill(child, SIGUSR1) == 0, "P1: kill(P2): %s\n", strerror(errno));
  check_table();
  // Packets written now: a read in packet mode never crosses a write's boundary.
  EXPECT_OR_FAIL(write(c[1], packet, PACKET_1) == PACKET_1 && write(c[1], packet, PACKET_2) == PACKET_2,
                 "P1: write packets: %s\n", strerror(errno));
  char buffer[4096];
  ssize_t first = read_within(c[0], buffer, sizeof buffer), second = read_within(c[0], buffer, sizeof buffer);
  EXPECT_OR_FAIL(first == PACKET_1 && second == PACKET_2, "P1: pipe C packets read as %zd and %zd bytes, expected %d and %d\n",
                 first, second, PACKET_1, PACKET_2);
  write_byte(e[1], "pipe E");
  write_byte(pair[1], "socketpair");
  EXPECT_OR_FAIL(wait_for_count(&io_signals) >= 1, "P1: no SIGIO for the socketpair it owns\n");
  EXPECT_OR_FAIL(rt_signals == 0, "P1: got SIGRTMIN+1, whose owner is P2\n");
  int status = 0;
  pid_t reaped;
  while ((reaped = waitpid(child, &status, 0)) < 0 && errno == EINTR) {
  }
  EXPECT_OR_FAIL(reaped == child && WIFEXITED(status) && WEXITSTATUS(status) == 0, "P1: P2 ended with status %#x\n",
                 status);
  finish();
}
