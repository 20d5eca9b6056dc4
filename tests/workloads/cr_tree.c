// Checkpoint/restore workload: a tree of 5 processes in 2 sessions, connected by pipes that hold
// unread data at checkpoint time.
//
//   cr_tree
//
//   P1 init         sid 1, pgid 1     writes pipe A (40000 bytes in 10 writes) before anyone reads
//   +- P2           sid 1, pgid P2    reads pipe B at check time
//   |  +- P3        sid 1, pgid P2    read 1000 bytes of pipe A during setup, the rest at check
//   +- P4           sid P4, pgid P4   (setsid: the second session)
//      +- P5        sid P4, pgid P4   writes pipe B (24000 bytes in 8 writes) during setup
//
// Every child reports its ids to the init over a report pipe; the init prints READY with them.
// On SIGUSR1 the init signals every child and closes its end of A; P5 closes its end of B.
// Each process checks its pid, ppid, pgid and sid against what it had before the checkpoint; the
// readers check that the pipe's remaining bytes arrive intact and are followed by end-of-file
// (so a restore that leaves an extra write end open somewhere is caught, within 5 s). Parents
// reap their children and fail if one did not exit 0.
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { PIPE_A_CHUNKS = 10, PIPE_A_CHUNK = 4000, PIPE_A_READ_EARLY = 1000 };
enum { PIPE_B_CHUNKS = 8, PIPE_B_CHUNK = 3000 };

struct identity {
  int role;  // 1..5
  pid_t pid, ppid, pgid, sid;
};

static struct identity me;

static void learn_identity(int role) {
  me.role = role;
  me.pid = getpid();
  me.ppid = getppid();
  me.pgid = getpgid(0);
  me.sid = getsid(0);
}

static void check_identity(void) {
  EXPECT_OR_FAIL(getpid() == me.pid, "P%d: getpid() is %d, was %d\n", me.role, (int)getpid(), (int)me.pid);
  EXPECT_OR_FAIL(getppid() == me.ppid, "P%d: getppid() is %d, was %d\n", me.role, (int)getppid(), (int)me.ppid);
  EXPECT_OR_FAIL(getpgid(0) == me.pgid, "P%d: getpgid() is %d, was %d\n", me.role, (int)getpgid(0), (int)me.pgid);
  EXPECT_OR_FAIL(getsid(0) == me.sid, "P%d: getsid() is %d, was %d\n", me.role, (int)getsid(0), (int)me.sid);
}

static void write_all(int fd, const void* data, size_t size) {
  const char* at = data;
  while (size > 0) {
    ssize_t written = write(fd, at, size);
    if (written < 0 && errno == EINTR) continue;
    SETUP_OR_DIE(written > 0, "P%d: write: %s\n", me.role, strerror(errno));
    at += written;
    size -= (size_t)written;
  }
}

// Writes `chunks` separate writes of pattern `tag` (each becomes its own pipe buffer).
static void write_pattern(int fd, char tag, int chunks, int chunk_size) {
  unsigned char chunk[PIPE_A_CHUNK];
  size_t index = 0;
  for (int c = 0; c < chunks; ++c) {
    for (int i = 0; i < chunk_size; ++i) chunk[i] = pattern_byte(tag, index++);
    write_all(fd, chunk, (size_t)chunk_size);
  }
}

// Reads `fd` until end-of-file and checks the bytes continue pattern `tag` from `start` and that
// exactly `expected` of them arrive.
static void check_pipe_rest(int fd, const char* name, char tag, size_t start, size_t expected) {
  size_t index = start, received = 0;
  int mismatch_reported = 0;
  for (;;) {
    struct pollfd waiting = {fd, POLLIN, 0};
    int ready = poll(&waiting, 1, 5000);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      EXPECT_OR_FAIL(0, "P%d: pipe %s: no end-of-file within 5 s after %zu bytes (expected %zu); is a write end still open?\n",
                     me.role, name, received, expected);
      return;
    }
    unsigned char buffer[8192];
    ssize_t got = read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      EXPECT_OR_FAIL(0, "P%d: read pipe %s: %s\n", me.role, name, strerror(errno));
      return;
    }
    if (got == 0) break;
    for (ssize_t i = 0; i < got; ++i, ++index) {
      if (buffer[i] != pattern_byte(tag, index) && !mismatch_reported) {
        mismatch_reported = 1;
        EXPECT_OR_FAIL(0, "P%d: pipe %s: byte %zu is %#x, expected %#x\n", me.role, name, index, buffer[i],
                       pattern_byte(tag, index));
      }
    }
    received += (size_t)got;
  }
  EXPECT_OR_FAIL(received == expected, "P%d: pipe %s: %zu bytes arrived, expected %zu\n", me.role, name, received,
                 expected);
}

static void report(int report_fd) {
  write_all(report_fd, &me, sizeof me);  // smaller than PIPE_BUF: one atomic write
  close(report_fd);
}

static void reap(pid_t child, int role) {
  int status = 0;
  pid_t reaped;
  while ((reaped = waitpid(child, &status, 0)) < 0 && errno == EINTR) {
  }
  EXPECT_OR_FAIL(reaped == child, "P%d: waitpid(P%d = %d): %s\n", me.role, role, (int)child, strerror(errno));
  if (reaped == child)
    EXPECT_OR_FAIL(WIFEXITED(status) && WEXITSTATUS(status) == 0, "P%d: child P%d ended with status %#x\n", me.role,
                   role, status);
}

int main(void) {
  install_check_handler();
  // Make the init a session and group leader of its own, whatever the launcher did.
  if (getsid(0) != getpid()) SETUP_OR_DIE(setsid() >= 0, "P1: setsid: %s\n", strerror(errno));
  learn_identity(1);
  SETUP_OR_DIE(me.pid == 1 && me.ppid == 0, "not the init of a PID namespace: pid %d, ppid %d\n", (int)me.pid,
               (int)me.ppid);

  int pipe_a[2], pipe_b[2], reports[2];
  SETUP_OR_DIE(pipe(pipe_a) == 0 && pipe(pipe_b) == 0 && pipe(reports) == 0, "pipe: %s\n", strerror(errno));
  write_pattern(pipe_a[1], 'A', PIPE_A_CHUNKS, PIPE_A_CHUNK);

  pid_t p2 = fork();
  SETUP_OR_DIE(p2 >= 0, "fork P2: %s\n", strerror(errno));
  if (p2 == 0) {
    SETUP_OR_DIE(setpgid(0, 0) == 0, "P2: setpgid: %s\n", strerror(errno));
    close(pipe_a[1]);
    close(pipe_b[1]);
    pid_t p3 = fork();
    SETUP_OR_DIE(p3 >= 0, "fork P3: %s\n", strerror(errno));
    if (p3 == 0) {
      close(pipe_b[0]);
      learn_identity(3);
      unsigned char early[PIPE_A_READ_EARLY];
      size_t have = 0;
      while (have < sizeof early) {
        ssize_t got = read(pipe_a[0], early + have, sizeof early - have);
        SETUP_OR_DIE(got > 0, "P3: read pipe A: %s\n", got < 0 ? strerror(errno) : "end of file");
        have += (size_t)got;
      }
      for (size_t i = 0; i < sizeof early; ++i)
        SETUP_OR_DIE(early[i] == pattern_byte('A', i), "P3: pipe A byte %zu wrong before the checkpoint\n", i);
      report(reports[1]);
      wait_for_check();
      check_identity();
      check_pipe_rest(pipe_a[0], "A", 'A', PIPE_A_READ_EARLY,
                      (size_t)PIPE_A_CHUNKS * PIPE_A_CHUNK - PIPE_A_READ_EARLY);
      _exit(problems_found == 0 ? 0 : 1);
    }
    close(pipe_a[0]);
    learn_identity(2);
    report(reports[1]);
    wait_for_check();
    check_identity();
    check_pipe_rest(pipe_b[0], "B", 'B', 0, (size_t)PIPE_B_CHUNKS * PIPE_B_CHUNK);
    reap(p3, 3);
    _exit(problems_found == 0 ? 0 : 1);
  }

  pid_t p4 = fork();
  SETUP_OR_DIE(p4 >= 0, "fork P4: %s\n", strerror(errno));
  if (p4 == 0) {
    SETUP_OR_DIE(setsid() >= 0, "P4: setsid: %s\n", strerror(errno));
    close(pipe_a[0]);
    close(pipe_a[1]);
    close(pipe_b[0]);
    pid_t p5 = fork();
    SETUP_OR_DIE(p5 >= 0, "fork P5: %s\n", strerror(errno));
    if (p5 == 0) {
      learn_identity(5);
      write_pattern(pipe_b[1], 'B', PIPE_B_CHUNKS, PIPE_B_CHUNK);
      report(reports[1]);
      wait_for_check();
      check_identity();
      close(pipe_b[1]);  // lets P2 see end-of-file
      _exit(problems_found == 0 ? 0 : 1);
    }
    close(pipe_b[1]);
    learn_identity(4);
    report(reports[1]);
    wait_for_check();
    check_identity();
    reap(p5, 5);
    _exit(problems_found == 0 ? 0 : 1);
  }

  close(pipe_a[0]);
  close(pipe_b[0]);
  close(pipe_b[1]);
  close(reports[1]);
  struct identity tree[6] = {{0}};
  tree[1] = me;
  for (int received = 0; received < 4; ++received) {
    struct identity child;
    ssize_t got;
    while ((got = read(reports[0], &child, sizeof child)) < 0 && errno == EINTR) {
    }
    SETUP_OR_DIE(got == sizeof child && child.role >= 2 && child.role <= 5, "report pipe: got %zd bytes\n", got);
    tree[child.role] = child;
  }
  close(reports[0]);
  // The shape this workload promises, checked once before the checkpoint.
  SETUP_OR_DIE(tree[2].ppid == 1 && tree[2].pgid == tree[2].pid && tree[2].sid == 1, "P2 ids\n");
  SETUP_OR_DIE(tree[3].ppid == tree[2].pid && tree[3].pgid == tree[2].pid && tree[3].sid == 1, "P3 ids\n");
  SETUP_OR_DIE(tree[4].ppid == 1 && tree[4].pgid == tree[4].pid && tree[4].sid == tree[4].pid, "P4 ids\n");
  SETUP_OR_DIE(tree[5].ppid == tree[4].pid && tree[5].pgid == tree[4].pid && tree[5].sid == tree[4].pid, "P5 ids\n");
  say("READY P1=%d P2=%d P3=%d P4=%d P5=%d sessions=1,%d groups=1,%d,%d\n", (int)tree[1].pid, (int)tree[2].pid,
      (int)tree[3].pid, (int)tree[4].pid, (int)tree[5].pid, (int)tree[4].sid, (int)tree[2].pgid, (int)tree[4].pgid);

  wait_for_check();
  check_identity();
  for (int role = 2; role <= 5; ++role)
    EXPECT_OR_FAIL(kill(tree[role].pid, SIGUSR1) == 0, "P1: kill(P%d = %d, SIGUSR1): %s\n", role, (int)tree[role].pid,
                   strerror(errno));
  close(pipe_a[1]);  // lets P3 see end-of-file
  reap(p2, 2);
  reap(p4, 4);
  finish();
}
