// Checkpoint/restore workload: unix socketpair ends whose peer was closed (the JDK keeps one from
// start-up) keep what the peer left queued and the kernel's view of the closed peer.
//
//   cr_socket_orphans
//
//   fd 10  SOCK_STREAM, the peer sent "left behind" and closed
//   fd 11  SOCK_SEQPACKET, the peer sent two records and closed
//   fd 12  SOCK_STREAM, the peer closed with a byte from fd 12 unread: one ECONNRESET is pending
//   fd 13  SOCK_STREAM, the peer closed with nothing sent
// On SIGUSR1 it checks poll's view (POLLHUP, POLLERR only for fd 12), reads every queue back, then
// end-of-file (ECONNRESET first on fd 12), and that a write fails with EPIPE.
#define _GNU_SOURCE
#include <poll.h>
#include <sys/socket.h>

#include "cr_common.h"

enum { STREAM = 10, SEQPACKET = 11, RESET = 12, EMPTY = 13 };

// A pair whose end `keep` stays, after `peer_sends` went out from the other end, which then closes.
static void orphan_at(int type, int keep, const char* const* peer_sends, int sends, int leave_unread) {
  int sv[2];
  SETUP_OR_DIE(socketpair(AF_UNIX, type, 0, sv) == 0, "socketpair(%d): %s\n", type, strerror(errno));
  for (int i = 0; i < sends; ++i)
    SETUP_OR_DIE(send(sv[1], peer_sends[i], strlen(peer_sends[i]), 0) == (ssize_t)strlen(peer_sends[i]), "send: %s\n", strerror(errno));
  if (leave_unread) SETUP_OR_DIE(send(sv[0], "x", 1, 0) == 1, "send: %s\n", strerror(errno));
  close(sv[1]);
  SETUP_OR_DIE(dup2(sv[0], keep) == keep, "dup2: %s\n", strerror(errno));
  close(sv[0]);
}

static void expect_poll(int fd, short expected) {
  struct pollfd p = {fd, POLLIN | POLLOUT, 0};
  EXPECT_OR_FAIL(poll(&p, 1, 0) == 1, "fd %d: poll finds nothing ready: its peer is not closed\n", fd);
  short seen = p.revents & (POLLHUP | POLLERR);
  EXPECT_OR_FAIL(seen == expected, "fd %d: poll shows HUP/ERR %#x, expected %#x\n", fd, seen, expected);
}

static void expect_read(int fd, const char* text) {
  char buffer[64] = {0};
  ssize_t n = recv(fd, buffer, sizeof buffer - 1, MSG_DONTWAIT);
  EXPECT_OR_FAIL(n == (ssize_t)strlen(text) && memcmp(buffer, text, strlen(text)) == 0, "fd %d: read %zd bytes '%s', expected '%s'\n",
                 fd, n, n > 0 ? buffer : "", text);
}

static void expect_end(int fd) {
  char buffer[8];
  ssize_t n = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
  EXPECT_OR_FAIL(n == 0, "fd %d: expected end-of-file, read %zd (%s)\n", fd, n, n < 0 ? strerror(errno) : "data");
}

static void expect_epipe(int fd) {
  ssize_t n = send(fd, "y", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  EXPECT_OR_FAIL(n < 0 && errno == EPIPE, "fd %d: a write gave %zd (%s), expected EPIPE\n", fd, n, n < 0 ? strerror(errno) : "sent");
}

int main(void) {
  install_check_handler();
  const char* stream[] = {"left ", "behind"};
  const char* records[] = {"record one", "record two"};
  orphan_at(SOCK_STREAM, STREAM, stream, 2, 0);
  orphan_at(SOCK_SEQPACKET, SEQPACKET, records, 2, 0);
  orphan_at(SOCK_STREAM, RESET, NULL, 0, 1);
  orphan_at(SOCK_STREAM, EMPTY, NULL, 0, 0);
  say("READY pid=%d\n", (int)getpid());

  wait_for_check();
  expect_poll(STREAM, POLLHUP);
  expect_poll(SEQPACKET, POLLHUP);
  expect_poll(RESET, POLLHUP | POLLERR);
  expect_poll(EMPTY, POLLHUP);
  expect_read(STREAM, "left behind");
  expect_end(STREAM);
  expect_read(SEQPACKET, "record one");
  expect_read(SEQPACKET, "record two");
  expect_end(SEQPACKET);
  char byte;
  ssize_t n = recv(RESET, &byte, 1, MSG_DONTWAIT);
  EXPECT_OR_FAIL(n < 0 && errno == ECONNRESET, "fd %d: expected one ECONNRESET, read %zd (%s)\n", RESET, n, n < 0 ? strerror(errno) : "data");
  expect_end(RESET);
  expect_end(EMPTY);
  for (int fd = STREAM; fd <= EMPTY; ++fd) expect_epipe(fd);
  finish();
}
