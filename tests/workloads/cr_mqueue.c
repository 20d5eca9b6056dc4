// Checkpoint/restore workload: POSIX message queues in the tree's own IPC namespace (cryo run),
// open and closed, with their messages, a child blocked in mq_receive and one in mq_send at the
// checkpoint.
//
//   Q1 /cr_mq_one: mode 0640, then owner 1234:5678; mq_maxmsg 12, mq_msgsize 64; six messages sent
//      with priorities 1 5 1 9 5 0 (one of them empty). Fd A has read 10 bytes of its status text. Held by fd A (O_RDWR | O_NONBLOCK, FD_CLOEXEC
//      as mq_open gives), fd C (a dup of A: one open file) and the child (inherited by fork).
//   Q2 /cr_mq_two: created by euid 4321 / egid 77 (its owner), mode 0600, mq_maxmsg 3,
//      mq_msgsize 10000, full: three messages of 10000 bytes, priorities 2 2 7. Held by fd B
//      (O_WRONLY, blocking, close-on-exec cleared); the sender child waits in mq_send on it (full)
//      with a fourth message, "late" at priority 1. Fd D (O_RDONLY | O_NONBLOCK), opened after the
//      forks, is the init's alone.
//   Q3 /cr_mq_closed: default attributes, one message, and no fd: a queue lives by its name.
//   Q4 /cr_mq_wait: empty; the child waits in mq_receive on it at the checkpoint.
// fs.mqueue.msg_max (default 10) and msgsize_max (default 8192) are raised to 20 and 16384 for Q1
// and Q2, then lowered to 2 and 4096 once they exist, and queues_max set to 100: restore must raise
// the new namespace's limits while it creates the queues, then put these back.
// On SIGUSR1 the init checks the sysctls, each queue's attributes, owner and mode, the fds' flags
// and sharing, every message in order with its priority (Q2's three, then the sender's, which its
// restarted mq_send puts in once there is room), then wakes the child through Q4; the child checks
// what woke it and the flags of its inherited fd, and exits 0.
#include <fcntl.h>
#include <mqueue.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { Q1_MESSAGES = 6, Q2_MESSAGES = 3, Q2_SIZE = 10000, MAX_SIZE = 16384 };
static const unsigned q1_priorities[Q1_MESSAGES] = {1, 5, 1, 9, 5, 0};
// Sent in index order; a receive gives the highest priority first, equal ones oldest first.
static const int q1_receive_order[Q1_MESSAGES] = {3, 1, 4, 0, 2, 5};
static const unsigned q2_priorities[Q2_MESSAGES] = {2, 2, 7};
static const int q2_receive_order[Q2_MESSAGES] = {2, 0, 1};

static mqd_t fd_a = -1, fd_b = -1, fd_c = -1, fd_d = -1, fd_wait = -1;

static size_t q1_length(int i) { return i == 5 ? 0 : (size_t)(10 + i * 9); }

static void q1_text(int i, char* out) {
  for (size_t k = 0; k < q1_length(i); ++k) out[k] = (char)pattern_byte((char)('A' + i), k);
}

static void q2_text(int i, char* out) {
  for (size_t k = 0; k < Q2_SIZE; ++k) out[k] = (char)pattern_byte((char)('a' + i), k);
}

static void write_sysctl(const char* name, const char* value) {
  char path[128];
  snprintf(path, sizeof path, "/proc/sys/fs/mqueue/%s", name);
  FILE* f = fopen(path, "w");
  SETUP_OR_DIE(f && fputs(value, f) >= 0 && fclose(f) == 0, "write %s: %s\n", path, strerror(errno));
}

static void check_sysctl(const char* name, const char* expected) {
  char path[128], value[64] = "";
  snprintf(path, sizeof path, "/proc/sys/fs/mqueue/%s", name);
  FILE* f = fopen(path, "r");
  if (f) {
    if (!fgets(value, sizeof value, f)) value[0] = 0;
    fclose(f);
  }
  value[strcspn(value, "\n")] = 0;
  EXPECT_OR_FAIL(strcmp(value, expected) == 0, "fs.mqueue.%s is '%s', not '%s'\n", name, value, expected);
}

static void check_queue(const char* name, mqd_t fd, long flags, long maxmsg, long msgsize, long curmsgs, unsigned mode, uid_t uid,
                        gid_t gid) {
  struct mq_attr attr;
  struct stat st;
  if (mq_getattr(fd, &attr) != 0 || fstat(fd, &st) != 0) {
    EXPECT_OR_FAIL(0, "%s: mq_getattr/fstat: %s\n", name, strerror(errno));
    return;
  }
  EXPECT_OR_FAIL(attr.mq_flags == flags, "%s: mq_flags %#lx, not %#lx\n", name, attr.mq_flags, flags);
  EXPECT_OR_FAIL(attr.mq_maxmsg == maxmsg && attr.mq_msgsize == msgsize, "%s: mq_maxmsg %ld, mq_msgsize %ld, not %ld, %ld\n", name,
                 attr.mq_maxmsg, attr.mq_msgsize, maxmsg, msgsize);
  EXPECT_OR_FAIL(attr.mq_curmsgs == curmsgs, "%s: %ld messages, not %ld\n", name, attr.mq_curmsgs, curmsgs);
  EXPECT_OR_FAIL((st.st_mode & 07777) == mode, "%s: mode %o, not %o\n", name, st.st_mode & 07777, mode);
  EXPECT_OR_FAIL(st.st_uid == uid && st.st_gid == gid, "%s: owner %u:%u, not %u:%u\n", name, st.st_uid, st.st_gid, uid, gid);
}

static void check_fd_flags(const char* name, int fd, int expected_flags, int expected_fd_flags) {
  int flags = fcntl(fd, F_GETFL), fd_flags = fcntl(fd, F_GETFD);
  EXPECT_OR_FAIL(flags >= 0 && (flags & (O_ACCMODE | O_NONBLOCK)) == expected_flags, "%s: fd %d has flags %#x, not %#x\n", name, fd,
                 flags, expected_flags);
  EXPECT_OR_FAIL(fd_flags == expected_fd_flags, "%s: fd %d has fd flags %d, not %d\n", name, fd, fd_flags, expected_fd_flags);
}

// Receives `count` messages from `fd` and compares each with what was sent, in receive order.
static void check_messages(const char* name, mqd_t fd, int count, const int* order, const unsigned* priorities,
                           size_t (*length)(int), void (*text)(int, char*)) {
  static char got[MAX_SIZE], want[MAX_SIZE];
  for (int i = 0; i < count; ++i) {
    unsigned priority = 0;
    ssize_t n = mq_receive(fd, got, sizeof got, &priority);
    if (n < 0) {
      EXPECT_OR_FAIL(0, "%s: message %d: mq_receive: %s\n", name, i, strerror(errno));
      return;
    }
    int sent = order[i];
    text(sent, want);
    EXPECT_OR_FAIL(priority == priorities[sent], "%s: message %d has priority %u, not %u\n", name, i, priority, priorities[sent]);
    EXPECT_OR_FAIL((size_t)n == length(sent) && memcmp(got, want, (size_t)n) == 0, "%s: message %d is not message %d as sent (%zd bytes)\n",
                   name, i, sent, n);
  }
  unsigned priority;
  EXPECT_OR_FAIL(mq_receive(fd, got, sizeof got, &priority) < 0 && errno == EAGAIN, "%s: more than %d messages\n", name, count);
}

static void closed_text(int i, char* out) {
  (void)i;
  memcpy(out, "closed", 6);
}

static size_t closed_length(int i) {
  (void)i;
  return 6;
}

// Blocked in mq_receive on Q4 across the checkpoint; exits 0 if it got "wake" and its inherited
// fd of Q1 is still the init's open file (O_NONBLOCK, 6 messages).
static void run_child(void) {
  static char text[8192];  // mq_receive wants room for mq_msgsize bytes.
  unsigned priority = 0;
  ssize_t n;
  do n = mq_receive(fd_wait, text, sizeof text, &priority);
  while (n < 0 && errno == EINTR);
  struct mq_attr attr;
  int ok = n == 4 && memcmp(text, "wake", 4) == 0 && priority == 11 && mq_getattr(fd_a, &attr) == 0 && attr.mq_flags == O_NONBLOCK;
  _exit(ok ? 0 : 2);
}

// Blocked in mq_send on the full Q2 across the checkpoint.
static void run_sender(void) {
  int r;
  do r = mq_send(fd_b, "late", 4, 1);
  while (r < 0 && errno == EINTR);
  _exit(r == 0 ? 0 : 2);
}

static long blocked_in(pid_t pid) {
  char path[64], text[256] = "";
  snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  if (!fgets(text, sizeof text, f)) text[0] = 0;
  fclose(f);
  return strtol(text, NULL, 10);
}

int main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  install_check_handler();
  // Above the defaults: a new namespace would refuse Q1 and Q2 until its limits are raised.
  write_sysctl("msg_max", "20");
  write_sysctl("msgsize_max", "16384");
  struct mq_attr attr = {.mq_maxmsg = 12, .mq_msgsize = 64};
  fd_a = mq_open("/cr_mq_one", O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK, 0640, &attr);
  SETUP_OR_DIE(fd_a >= 0, "mq_open(Q1): %s\n", strerror(errno));
  SETUP_OR_DIE(fchown(fd_a, 1234, 5678) == 0, "fchown(Q1): %s\n", strerror(errno));
  static char text[Q2_SIZE];
  for (int i = 0; i < Q1_MESSAGES; ++i) {
    q1_text(i, text);
    SETUP_OR_DIE(mq_send(fd_a, text, q1_length(i), q1_priorities[i]) == 0, "mq_send(Q1, %d): %s\n", i, strerror(errno));
  }
  fd_c = dup(fd_a);
  SETUP_OR_DIE(fd_c >= 0, "dup: %s\n", strerror(errno));
  char status_start[10];
  SETUP_OR_DIE(read(fd_a, status_start, sizeof status_start) == (ssize_t)sizeof status_start, "read(Q1): %s\n", strerror(errno));

  SETUP_OR_DIE(setegid(77) == 0 && seteuid(4321) == 0, "seteuid: %s\n", strerror(errno));
  struct mq_attr attr2 = {.mq_maxmsg = Q2_MESSAGES, .mq_msgsize = Q2_SIZE};
  fd_b = mq_open("/cr_mq_two", O_WRONLY | O_CREAT | O_EXCL, 0600, &attr2);
  int q2_errno = errno;
  SETUP_OR_DIE(seteuid(0) == 0 && setegid(0) == 0, "seteuid(0): %s\n", strerror(errno));
  SETUP_OR_DIE(fd_b >= 0, "mq_open(Q2): %s\n", strerror(q2_errno));
  for (int i = 0; i < Q2_MESSAGES; ++i) {
    q2_text(i, text);
    SETUP_OR_DIE(mq_send(fd_b, text, Q2_SIZE, q2_priorities[i]) == 0, "mq_send(Q2, %d): %s\n", i, strerror(errno));
  }
  SETUP_OR_DIE(fcntl(fd_b, F_SETFD, 0) == 0, "fcntl(F_SETFD): %s\n", strerror(errno));

  mqd_t closed = mq_open("/cr_mq_closed", O_WRONLY | O_CREAT | O_EXCL, 0604, NULL);
  SETUP_OR_DIE(closed >= 0 && mq_send(closed, "closed", 6, 4) == 0 && mq_close(closed) == 0, "Q3: %s\n", strerror(errno));
  fd_wait = mq_open("/cr_mq_wait", O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
  SETUP_OR_DIE(fd_wait >= 0, "mq_open(Q4): %s\n", strerror(errno));

  // Below what Q1 and Q2 have: they stay, new ones like them would be refused.
  write_sysctl("msg_max", "2");
  write_sysctl("msgsize_max", "4096");
  write_sysctl("queues_max", "100");

  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) run_child();
  pid_t sender = fork();
  SETUP_OR_DIE(sender >= 0, "fork: %s\n", strerror(errno));
  if (sender == 0) run_sender();
  for (int i = 0; i < 5000 && (blocked_in(child) != SYS_mq_timedreceive || blocked_in(sender) != SYS_mq_timedsend); ++i) sleep_ms(1);
  SETUP_OR_DIE(blocked_in(child) == SYS_mq_timedreceive, "the child does not wait in mq_receive\n");
  SETUP_OR_DIE(blocked_in(sender) == SYS_mq_timedsend, "the sender does not wait in mq_send\n");
  fd_d = mq_open("/cr_mq_two", O_RDONLY | O_NONBLOCK);
  SETUP_OR_DIE(fd_d >= 0, "mq_open(Q2, O_RDONLY): %s\n", strerror(errno));
  say("READY fds %d %d %d %d, child %d\n", fd_a, fd_b, fd_c, fd_d, (int)child);
  wait_for_check();

  check_sysctl("msg_max", "2");
  check_sysctl("msgsize_max", "4096");
  check_sysctl("queues_max", "100");
  check_queue("Q1", fd_a, O_NONBLOCK, 12, 64, Q1_MESSAGES, 0640, 1234, 5678);
  check_queue("Q2", fd_b, 0, Q2_MESSAGES, Q2_SIZE, Q2_MESSAGES, 0600, 4321, 77);
  check_fd_flags("Q1 fd A", fd_a, O_RDWR | O_NONBLOCK, FD_CLOEXEC);
  EXPECT_OR_FAIL(lseek(fd_a, 0, SEEK_CUR) == 10, "Q1: fd A is at %ld, not 10\n", (long)lseek(fd_a, 0, SEEK_CUR));
  check_fd_flags("Q1 fd C", fd_c, O_RDWR | O_NONBLOCK, 0);
  check_fd_flags("Q2 fd B", fd_b, O_WRONLY, 0);
  check_fd_flags("Q2 fd D", fd_d, O_RDONLY | O_NONBLOCK, FD_CLOEXEC);
  // A and C are one open file: a flag set through one shows through the other.
  struct mq_attr blocking = {.mq_flags = 0}, now;
  EXPECT_OR_FAIL(mq_setattr(fd_c, &blocking, NULL) == 0 && mq_getattr(fd_a, &now) == 0 && now.mq_flags == 0,
                 "fds A and C of Q1 are not one open file\n");
  struct mq_attr nonblocking = {.mq_flags = O_NONBLOCK};
  mq_setattr(fd_c, &nonblocking, NULL);
  check_messages("Q1", fd_a, Q1_MESSAGES, q1_receive_order, q1_priorities, q1_length, q1_text);
  mqd_t q2_reader = fd_d;
  {
    // Not check_messages: the sender's message comes once there is room, maybe before the last receive.
    static char got[MAX_SIZE], want[Q2_SIZE];
    for (int i = 0; i < Q2_MESSAGES; ++i) {
      unsigned priority = 0;
      ssize_t n = mq_receive(q2_reader, got, sizeof got, &priority);
      int sent = q2_receive_order[i];
      q2_text(sent, want);
      EXPECT_OR_FAIL(n == Q2_SIZE && priority == q2_priorities[sent] && memcmp(got, want, Q2_SIZE) == 0,
                     "Q2: message %d is not message %d as sent (%zd bytes, priority %u)\n", i, sent, n, priority);
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    unsigned priority = 0;
    mq_setattr(q2_reader, &blocking, NULL);
    ssize_t n = mq_timedreceive(q2_reader, got, sizeof got, &priority, &deadline);
    EXPECT_OR_FAIL(n == 4 && memcmp(got, "late", 4) == 0 && priority == 1, "Q2: the sender's message did not come (%zd bytes: %s)\n", n,
                   n < 0 ? strerror(errno) : "other bytes");
    int status = -1;
    for (int i = 0; i < 5000 && waitpid(sender, &status, WNOHANG) == 0; ++i) sleep_ms(1);
    EXPECT_OR_FAIL(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the sender did not finish its mq_send (status %#x)\n", status);
  }
  mqd_t q3 = mq_open("/cr_mq_closed", O_RDONLY | O_NONBLOCK);
  EXPECT_OR_FAIL(q3 >= 0, "mq_open(Q3): %s\n", strerror(errno));
  if (q3 >= 0) {
    check_queue("Q3", q3, O_NONBLOCK, 10, 8192, 1, 0604, 0, 0);
    static const int order[1] = {0};
    static const unsigned priorities[1] = {4};
    check_messages("Q3", q3, 1, order, priorities, closed_length, closed_text);
  }

  EXPECT_OR_FAIL(mq_send(fd_wait, "wake", 4, 11) == 0, "mq_send(Q4): %s\n", strerror(errno));
  int status = -1;
  for (int i = 0; i < 5000 && waitpid(child, &status, WNOHANG) == 0; ++i) sleep_ms(1);
  EXPECT_OR_FAIL(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child did not wake as it should (status %#x)\n", status);
  kill(child, SIGKILL);
  kill(sender, SIGKILL);
  finish();
}
