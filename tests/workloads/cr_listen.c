// Checkpoint/restore workload: listening TCP sockets come back on their addresses, shared as they
// were, and accept connections.
//
//   cr_listen
//
// fd 10: AF_INET SOCK_STREAM listening on 127.0.0.1 (a port the kernel chose), SO_REUSEADDR and
//        TCP_NODELAY set, O_NONBLOCK; shared with a child made by fork.
// fd 11: AF_INET6 listening on [::1] with IPV6_V6ONLY, blocking.
// Each also has options set away from their defaults, which accepted connections inherit: fd 10
// SO_PRIORITY, SO_LINGER, SO_RCVTIMEO, SO_RCVBUF, IP_TOS, TCP_KEEPIDLE; fd 11 IPV6_TCLASS,
// TCP_MAXSEG, TCP_USER_TIMEOUT, TCP_DEFER_ACCEPT. The check compares each with what getsockopt
// said after setup.
// fd 12: AF_INET listening on 127.0.0.1 with a backlog of 0: one connection may wait, the next is
//        not let in (its SYN is dropped) until the first is accepted.
// On SIGUSR1 the init checks both addresses and options, connects to each listener and has the
// child accept the IPv4 connection (proving the fork's copy is the same socket) and itself the IPv6
// one; bytes go both ways. The child reports back through a pipe.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { FD_V4 = 10, FD_V6 = 11, FD_NARROW = 12 };

static int flag(int fd, int level, int option) {
  int value = 0;
  socklen_t size = sizeof value;
  getsockopt(fd, level, option, &value, &size);
  return value != 0;
}

struct noted_option {
  int fd, level, name;
  const char* label;
  char value[16];
  socklen_t size;
};
static struct noted_option noted[16];
static int noted_count;

// Sets an option and notes what the kernel then shows (it may round or double it).
static void set_option(int fd, int level, int name, const char* label, const void* value, socklen_t size) {
  SETUP_OR_DIE(setsockopt(fd, level, name, value, size) == 0, "setsockopt(%s): %s\n", label, strerror(errno));
  struct noted_option* note = &noted[noted_count++];
  *note = (struct noted_option){.fd = fd, .level = level, .name = name, .label = label, .size = sizeof note->value};
  SETUP_OR_DIE(getsockopt(fd, level, name, note->value, &note->size) == 0, "getsockopt(%s): %s\n", label, strerror(errno));
}

static void set_int_option(int fd, int level, int name, const char* label, int value) {
  set_option(fd, level, name, label, &value, sizeof value);
}

static void check_options(void) {
  for (int i = 0; i < noted_count; ++i) {
    char value[16] = {0};
    socklen_t size = sizeof value;
    int got = getsockopt(noted[i].fd, noted[i].level, noted[i].name, value, &size);
    EXPECT_OR_FAIL(got == 0 && size == noted[i].size && memcmp(value, noted[i].value, size) == 0,
                   "fd %d: %s changed (first int %d, was %d)\n", noted[i].fd, noted[i].label, *(int*)value, *(int*)noted[i].value);
  }
}

static void set_listener_options(void) {
  struct linger linger = {1, 7};
  struct timeval timeout = {3, 250000};
  // IP_TOS sets the priority too: a priority set after it must stay.
  set_int_option(FD_V4, IPPROTO_IP, IP_TOS, "IP_TOS", 0x10);
  set_int_option(FD_V4, SOL_SOCKET, SO_PRIORITY, "SO_PRIORITY", 4);
  set_option(FD_V4, SOL_SOCKET, SO_LINGER, "SO_LINGER", &linger, sizeof linger);
  set_option(FD_V4, SOL_SOCKET, SO_RCVTIMEO, "SO_RCVTIMEO", &timeout, sizeof timeout);
  set_int_option(FD_V4, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", 65536);
  set_int_option(FD_V4, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", 77);
  set_int_option(FD_V6, IPPROTO_IPV6, IPV6_TCLASS, "IPV6_TCLASS", 0x20);
  set_int_option(FD_V6, IPPROTO_TCP, TCP_MAXSEG, "TCP_MAXSEG", 1200);
  set_int_option(FD_V6, IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT", 4321);
  // The IPv6 client writes before the listener accepts, so a deferred accept still comes.
  set_int_option(FD_V6, IPPROTO_TCP, TCP_DEFER_ACCEPT, "TCP_DEFER_ACCEPT", 10);
}

static void move_to(int fd, int number) {
  SETUP_OR_DIE(dup2(fd, number) == number, "dup2: %s\n", strerror(errno));
  close(fd);
}

// Accepts one connection on `listener`, reads "ping", answers "pong"; 0 on success.
static int serve_one(int listener, const char* who) {
  int peer = accept(listener, NULL, NULL);
  if (peer < 0 && errno == EAGAIN) {
    // The IPv4 listener is non-blocking: wait for the connection.
    for (int i = 0; i < 500 && peer < 0 && errno == EAGAIN; ++i) {
      sleep_ms(10);
      peer = accept(listener, NULL, NULL);
    }
  }
  if (peer < 0) {
    say("FAIL: %s: accept: %s\n", who, strerror(errno));
    return 1;
  }
  char buffer[8] = {0};
  int ok = read(peer, buffer, 4) == 4 && memcmp(buffer, "ping", 4) == 0 && write(peer, "pong", 4) == 4;
  if (!ok) say("FAIL: %s: the exchange failed\n", who);
  close(peer);
  return ok ? 0 : 1;
}

static int connect_to(int family, const struct sockaddr* address, socklen_t length) {
  int client = socket(family, SOCK_STREAM, 0);
  if (client < 0 || connect(client, address, length) != 0) {
    say("FAIL: connect: %s\n", strerror(errno));
    return -1;
  }
  return client;
}

// The listener of backlog 0 holds one waiting connection and keeps a second out: with the largest
// backlog, the second would be connected at once.
static void check_narrow_backlog(const struct sockaddr_in* address) {
  int first = connect_to(AF_INET, (const struct sockaddr*)address, sizeof *address);
  int second = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  SETUP_OR_DIE(second >= 0, "socket: %s\n", strerror(errno));
  int rc = connect(second, (const struct sockaddr*)address, sizeof *address);
  EXPECT_OR_FAIL(rc != 0 && errno == EINPROGRESS, "the second connection to the backlog-0 listener was not held back\n");
  struct pollfd wait = {second, POLLOUT, 0};
  EXPECT_OR_FAIL(poll(&wait, 1, 200) == 0, "the backlog-0 listener let a second connection in: its backlog grew\n");
  int peer = accept(FD_NARROW, NULL, NULL);
  EXPECT_OR_FAIL(peer >= 0, "backlog-0 listener: accept: %s\n", strerror(errno));
  if (peer >= 0) close(peer);
  if (first >= 0) close(first);
  close(second);
}

static void ping(int client, const char* who) {
  char buffer[8] = {0};
  EXPECT_OR_FAIL(write(client, "ping", 4) == 4, "%s: write: %s\n", who, strerror(errno));
  EXPECT_OR_FAIL(read(client, buffer, 4) == 4 && memcmp(buffer, "pong", 4) == 0, "%s: no pong\n", who);
  close(client);
}

int main(void) {
  install_check_handler();
  struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int s4 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int on = 1;
  SETUP_OR_DIE(s4 >= 0 && setsockopt(s4, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0 &&
                   setsockopt(s4, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0,
               "socket/setsockopt: %s\n", strerror(errno));
  SETUP_OR_DIE(bind(s4, (struct sockaddr*)&v4, sizeof v4) == 0 && listen(s4, 16) == 0, "bind/listen v4: %s\n", strerror(errno));
  move_to(s4, FD_V4);
  struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
  int s6 = socket(AF_INET6, SOCK_STREAM, 0);
  SETUP_OR_DIE(s6 >= 0 && setsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) == 0, "socket v6: %s\n", strerror(errno));
  SETUP_OR_DIE(bind(s6, (struct sockaddr*)&v6, sizeof v6) == 0 && listen(s6, 16) == 0, "bind/listen v6: %s\n", strerror(errno));
  move_to(s6, FD_V6);
  struct sockaddr_in narrow = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int s0 = socket(AF_INET, SOCK_STREAM, 0);
  SETUP_OR_DIE(s0 >= 0 && bind(s0, (struct sockaddr*)&narrow, sizeof narrow) == 0 && listen(s0, 0) == 0,
               "bind/listen backlog 0: %s\n", strerror(errno));
  move_to(s0, FD_NARROW);
  set_listener_options();
  socklen_t length = sizeof v4;
  getsockname(FD_V4, (struct sockaddr*)&v4, &length);
  length = sizeof v6;
  getsockname(FD_V6, (struct sockaddr*)&v6, &length);
  length = sizeof narrow;
  getsockname(FD_NARROW, (struct sockaddr*)&narrow, &length);

  int go[2], verdict[2];
  SETUP_OR_DIE(pipe(go) == 0 && pipe(verdict) == 0, "pipe: %s\n", strerror(errno));
  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) {
    char byte;
    while (read(go[0], &byte, 1) < 0 && errno == EINTR) {
    }
    char result = (char)serve_one(FD_V4, "child on the IPv4 listener");
    ssize_t ignored = write(verdict[1], &result, 1);
    (void)ignored;
    _exit(0);
  }
  say("READY pid=%d v4port=%d v6port=%d\n", (int)getpid(), ntohs(v4.sin_port), ntohs(v6.sin6_port));
  wait_for_check();

  struct sockaddr_in now4;
  struct sockaddr_in6 now6;
  length = sizeof now4;
  EXPECT_OR_FAIL(getsockname(FD_V4, (struct sockaddr*)&now4, &length) == 0 && now4.sin_port == v4.sin_port &&
                     now4.sin_addr.s_addr == v4.sin_addr.s_addr,
                 "fd 10 is no longer bound to 127.0.0.1:%d\n", ntohs(v4.sin_port));
  length = sizeof now6;
  EXPECT_OR_FAIL(getsockname(FD_V6, (struct sockaddr*)&now6, &length) == 0 && now6.sin6_port == v6.sin6_port,
                 "fd 11 is no longer bound to [::1]:%d\n", ntohs(v6.sin6_port));
  EXPECT_OR_FAIL(flag(FD_V4, SOL_SOCKET, SO_ACCEPTCONN) && flag(FD_V6, SOL_SOCKET, SO_ACCEPTCONN), "a listener no longer listens\n");
  EXPECT_OR_FAIL(flag(FD_V4, SOL_SOCKET, SO_REUSEADDR), "fd 10 lost SO_REUSEADDR\n");
  EXPECT_OR_FAIL(!flag(FD_V6, SOL_SOCKET, SO_REUSEADDR), "fd 11 gained SO_REUSEADDR\n");
  EXPECT_OR_FAIL(flag(FD_V4, IPPROTO_TCP, TCP_NODELAY), "fd 10 lost TCP_NODELAY\n");
  EXPECT_OR_FAIL(flag(FD_V6, IPPROTO_IPV6, IPV6_V6ONLY), "fd 11 lost IPV6_V6ONLY\n");
  check_options();
  EXPECT_OR_FAIL(fcntl(FD_V4, F_GETFL) & O_NONBLOCK, "fd 10 lost O_NONBLOCK\n");
  EXPECT_OR_FAIL(!(fcntl(FD_V6, F_GETFL) & O_NONBLOCK), "fd 11 became non-blocking\n");

  SETUP_OR_DIE(write(go[1], "g", 1) == 1, "write: %s\n", strerror(errno));
  int c4 = connect_to(AF_INET, (struct sockaddr*)&v4, sizeof v4);
  if (c4 >= 0) ping(c4, "IPv4 client");
  char result = 1;
  EXPECT_OR_FAIL(read(verdict[0], &result, 1) == 1 && result == 0, "the child did not serve the IPv4 connection\n");
  int c6 = connect_to(AF_INET6, (struct sockaddr*)&v6, sizeof v6);
  if (c6 >= 0) {
    // Blocking listener: accept after the client wrote, then answer.
    EXPECT_OR_FAIL(write(c6, "ping", 4) == 4, "IPv6 client: write: %s\n", strerror(errno));
    int peer = accept(FD_V6, NULL, NULL);
    char buffer[8] = {0};
    EXPECT_OR_FAIL(peer >= 0 && read(peer, buffer, 4) == 4 && memcmp(buffer, "ping", 4) == 0, "IPv6 listener: accept/read failed\n");
    close(peer);
    close(c6);
  }
  check_narrow_backlog(&narrow);
  int status = 0;
  waitpid(child, &status, 0);
  finish();
}
