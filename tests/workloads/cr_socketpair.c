// Checkpoint/restore workload: unix socketpairs keep their type, their peers and the data queued
// in each direction, with datagram boundaries, and still carry new data.
//
//   cr_socketpair
//
//   fds 10/11  SOCK_STREAM pair: "hello stream world" (3 sends) queued to 11, 70000 pattern bytes queued to 10
//   fds 12/13  SOCK_DGRAM pair, fd 12 O_NONBLOCK: 3 datagrams (2, 14 and 5000 bytes) queued to 13, 2 to 12
//   fds 14/15  SOCK_SEQPACKET pair: 2 records queued to 15
//   fd 16      SOCK_STREAM, its peer (fd 17) held by a child, which queued "from the child" to 16 and
//              then blocks reading fd 17
//   fd 18      dup(11)
//   options    fd 10: SO_PRIORITY 5, SO_MARK 77, SO_RCVTIMEO 4 s; fd 13: SO_PRIORITY 2, SO_SNDTIMEO 2.5 s
// On SIGUSR1 it reads every queue back and compares, sends new data both ways on each pair (through
// fd 18 for the first), and pings the child, which answers "pong:ping" and exits 0.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { STREAM_A = 10, STREAM_B = 11, DGRAM_A = 12, DGRAM_B = 13, SEQ_A = 14, SEQ_B = 15, CHILD_SOCKET = 16, CHILD_END = 17, STREAM_B_DUP = 18 };
enum { BIG = 70000 };

static void pair_at(int type, int a, int b) {
  int sv[2];
  SETUP_OR_DIE(socketpair(AF_UNIX, type, 0, sv) == 0, "socketpair(%d): %s\n", type, strerror(errno));
  SETUP_OR_DIE(dup2(sv[0], a) == a && dup2(sv[1], b) == b, "dup2: %s\n", strerror(errno));
  close(sv[0]);
  close(sv[1]);
}

static void send_all(int fd, const void* data, size_t size) {
  SETUP_OR_DIE(send(fd, data, size, 0) == (ssize_t)size, "send %zu bytes on fd %d: %s\n", size, fd, strerror(errno));
}

// Reads everything queued on a stream socket without blocking.
static size_t drain(int fd, char* buffer, size_t size) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = recv(fd, buffer + got, size - got, MSG_DONTWAIT);
    if (n <= 0) break;
    got += (size_t)n;
  }
  return got;
}

static void expect_message(int fd, const char* want, size_t size, const char* what) {
  char buffer[8192];
  ssize_t n = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
  EXPECT_OR_FAIL(n == (ssize_t)size && memcmp(buffer, want, size) == 0, "fd %d: %s: got %zd bytes (%s), expected %zu\n", fd, what, n,
                 n < 0 ? strerror(errno) : "other bytes", size);
}

static void expect_empty(int fd) {
  char byte;
  EXPECT_OR_FAIL(recv(fd, &byte, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN, "fd %d has more queued than expected\n", fd);
}

static void expect_type(int fd, int type) {
  int got = -1;
  socklen_t size = sizeof got;
  EXPECT_OR_FAIL(getsockopt(fd, SOL_SOCKET, SO_TYPE, &got, &size) == 0 && got == type, "fd %d: type %d, expected %d\n", fd, got, type);
}

struct int_option {
  int fd, name, value;
  const char* label;
};
static const struct int_option kIntOptions[] = {
    {STREAM_A, SO_PRIORITY, 5, "SO_PRIORITY"}, {STREAM_A, SO_MARK, 77, "SO_MARK"}, {DGRAM_B, SO_PRIORITY, 2, "SO_PRIORITY"}};
static const struct timeval kRcvTimeout = {4, 0}, kSndTimeout = {2, 500000};

static void set_options(void) {
  for (size_t i = 0; i < sizeof kIntOptions / sizeof kIntOptions[0]; ++i)
    SETUP_OR_DIE(setsockopt(kIntOptions[i].fd, SOL_SOCKET, kIntOptions[i].name, &kIntOptions[i].value, sizeof(int)) == 0,
                 "setsockopt(%s): %s\n", kIntOptions[i].label, strerror(errno));
  SETUP_OR_DIE(setsockopt(STREAM_A, SOL_SOCKET, SO_RCVTIMEO, &kRcvTimeout, sizeof kRcvTimeout) == 0 &&
                   setsockopt(DGRAM_B, SOL_SOCKET, SO_SNDTIMEO, &kSndTimeout, sizeof kSndTimeout) == 0,
               "setsockopt(timeouts): %s\n", strerror(errno));
}

static void expect_timeout(int fd, int name, const struct timeval* wanted, const char* label) {
  struct timeval got = {0, 0};
  socklen_t size = sizeof got;
  getsockopt(fd, SOL_SOCKET, name, &got, &size);
  EXPECT_OR_FAIL(got.tv_sec == wanted->tv_sec && got.tv_usec == wanted->tv_usec, "fd %d: %s is %ld.%06ld s, was %ld.%06ld s\n", fd, label,
                 (long)got.tv_sec, (long)got.tv_usec, (long)wanted->tv_sec, (long)wanted->tv_usec);
}

static void expect_options(void) {
  for (size_t i = 0; i < sizeof kIntOptions / sizeof kIntOptions[0]; ++i) {
    int got = -1;
    socklen_t size = sizeof got;
    getsockopt(kIntOptions[i].fd, SOL_SOCKET, kIntOptions[i].name, &got, &size);
    EXPECT_OR_FAIL(got == kIntOptions[i].value, "fd %d: %s is %d, was %d\n", kIntOptions[i].fd, kIntOptions[i].label, got, kIntOptions[i].value);
  }
  expect_timeout(STREAM_A, SO_RCVTIMEO, &kRcvTimeout, "SO_RCVTIMEO");
  expect_timeout(DGRAM_B, SO_SNDTIMEO, &kSndTimeout, "SO_SNDTIMEO");
}

int main(void) {
  install_check_handler();
  static char big[BIG], five_k[5000];
  for (size_t i = 0; i < BIG; ++i) big[i] = (char)pattern_byte('s', i);
  memset(five_k, 'x', sizeof five_k);

  pair_at(SOCK_STREAM, STREAM_A, STREAM_B);
  send_all(STREAM_A, "hello ", 6);
  send_all(STREAM_A, "stream ", 7);
  send_all(STREAM_A, "world", 5);
  send_all(STREAM_B, big, BIG);
  SETUP_OR_DIE(dup2(STREAM_B, STREAM_B_DUP) == STREAM_B_DUP, "dup2: %s\n", strerror(errno));

  pair_at(SOCK_DGRAM, DGRAM_A, DGRAM_B);
  SETUP_OR_DIE(fcntl(DGRAM_A, F_SETFL, O_NONBLOCK) == 0, "fcntl: %s\n", strerror(errno));
  send_all(DGRAM_A, "d1", 2);
  send_all(DGRAM_A, "datagram three", 14);
  send_all(DGRAM_A, five_k, sizeof five_k);
  send_all(DGRAM_B, "back 1", 6);
  send_all(DGRAM_B, "back two", 8);

  set_options();

  pair_at(SOCK_SEQPACKET, SEQ_A, SEQ_B);
  send_all(SEQ_A, "record one", 10);
  send_all(SEQ_A, "r2", 2);

  pair_at(SOCK_STREAM, CHILD_SOCKET, CHILD_END);
  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) {
    close(CHILD_SOCKET);
    if (send(CHILD_END, "from the child", 14, 0) != 14) _exit(2);
    char ping[16];
    ssize_t n;
    while ((n = recv(CHILD_END, ping, sizeof ping, 0)) < 0 && errno == EINTR) {
    }
    if (n != 4 || memcmp(ping, "ping", 4) != 0) _exit(3);
    _exit(send(CHILD_END, "pong:ping", 9, 0) == 9 ? 0 : 4);
  }
  close(CHILD_END);
  // The child's message must be queued before the dump.
  char peek[16];
  while (recv(CHILD_SOCKET, peek, sizeof peek, MSG_PEEK) < 14) sleep_ms(1);
  say("READY socketpair\n");
  wait_for_check();

  expect_options();
  expect_type(STREAM_A, SOCK_STREAM);
  expect_type(DGRAM_B, SOCK_DGRAM);
  expect_type(SEQ_B, SOCK_SEQPACKET);
  EXPECT_OR_FAIL(fcntl(DGRAM_A, F_GETFL) & O_NONBLOCK, "fd %d lost O_NONBLOCK\n", DGRAM_A);
  EXPECT_OR_FAIL(!(fcntl(DGRAM_B, F_GETFL) & O_NONBLOCK), "fd %d gained O_NONBLOCK\n", DGRAM_B);

  static char buffer[BIG + 100];
  size_t got = drain(STREAM_B_DUP, buffer, sizeof buffer);
  EXPECT_OR_FAIL(got == 18 && memcmp(buffer, "hello stream world", 18) == 0, "fd %d: %zu bytes queued, expected 'hello stream world'\n",
                 STREAM_B, got);
  got = drain(STREAM_A, buffer, sizeof buffer);
  EXPECT_OR_FAIL(got == BIG && memcmp(buffer, big, BIG) == 0, "fd %d: %zu bytes queued, expected the %d pattern bytes\n", STREAM_A, got, BIG);

  expect_message(DGRAM_B, "d1", 2, "first datagram");
  expect_message(DGRAM_B, "datagram three", 14, "second datagram");
  expect_message(DGRAM_B, five_k, sizeof five_k, "third datagram");
  expect_empty(DGRAM_B);
  expect_message(DGRAM_A, "back 1", 6, "first datagram back");
  expect_message(DGRAM_A, "back two", 8, "second datagram back");
  expect_empty(DGRAM_A);
  expect_message(SEQ_B, "record one", 10, "first record");
  expect_message(SEQ_B, "r2", 2, "second record");
  expect_empty(SEQ_B);

  // New data in both directions.
  EXPECT_OR_FAIL(send(STREAM_B_DUP, "new", 3, 0) == 3 && send(STREAM_A, "NEW", 3, 0) == 3, "send new stream data: %s\n", strerror(errno));
  expect_message(STREAM_A, "new", 3, "new data through the dup");
  expect_message(STREAM_B, "NEW", 3, "new data");
  EXPECT_OR_FAIL(send(DGRAM_B, "n", 1, 0) == 1 && send(SEQ_B, "rev", 3, 0) == 3, "send new datagrams: %s\n", strerror(errno));
  expect_message(DGRAM_A, "n", 1, "new datagram");
  expect_message(SEQ_A, "rev", 3, "new record");

  expect_message(CHILD_SOCKET, "from the child", 14, "the child's message");
  EXPECT_OR_FAIL(send(CHILD_SOCKET, "ping", 4, 0) == 4, "ping: %s\n", strerror(errno));
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  EXPECT_OR_FAIL(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child failed its ping (status %d)\n", status);
  expect_message(CHILD_SOCKET, "pong:ping", 9, "the child's answer");
  finish();
}
