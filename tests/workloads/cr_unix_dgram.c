// Checkpoint/restore workload: AF_UNIX datagram sockets, bound and connected by name, come back with
// their names, socket file, buffers, peers and queued datagrams (bytes, boundaries and each one's
// sender address).
//
//   cr_unix_dgram --dir=DIR [--mode=tree|outside|foreign|passcred|empty]
//
// tree (the default). The init (the receivers):
//   fd 10 R: bound to DIR/log.sock (a syslog-like receiver), file mode 0640 group 4242, SO_RCVBUF
//            set; queued: a line from S3 (unbound), one from S1 (DIR/s1.sock), one R sent itself,
//            a 60000-byte one from S2 (unbound, by sendto on a connected socket), one from an
//            unbound socket that has closed since
//   fd 11 A: bound to the abstract name "@cr_unix_dgram:DIR", connected back to S1 after S1 and S2
//            connected to it; queued: from S2, from S3 (sendto, before A connected), from S1
//   fd 12 G: bound to DIR/gone.sock, whose file was unlinked after fd 23 connected to it; queued:
//            one from fd 23
//   fd 13 U: unbound and unconnected
//   fd 14 P: one end of a datagram socketpair, bound afterwards to "@cr_unix_dgram-pair:DIR"; queued:
//            one from its other end (fd 24)
// The child (the senders):
//   fd 20 S1: bound to DIR/s1.sock, connected to A, SO_SNDBUF set; queued: a reply from A
//   fd 21 S2: unbound, connected to A
//   fd 22 S3: unbound, unconnected (sends with sendto)
//   fd 23:    unbound, connected to G by its path
//   fd 24:    the other end of P; queued: one from P (its sender name is P's)
// On SIGUSR1 both check their names, peers, buffers and queues; then sending after the restore
// reaches the right receiver: S1 to A, fd 23 to G, S3 and a socket made after the restore to R, A
// back to S1, and S2 to A is refused (EPERM: A is connected to S1, as at the dump).
//
// outside:  fd 10 is connected to DIR/outside.sock, bound by the test outside the tree.
// foreign:  fd 10 is bound to DIR/log.sock; the test queues a datagram to it from DIR/foreign.sock.
// passcred: fd 10 is bound to DIR/log.sock with SO_PASSCRED set.
// empty:    fd 10 is bound to DIR/log.sock with a zero-length datagram queued.
// For these the dump is refused; on SIGUSR1 fd 10 must be untouched.
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { FD_R = 10, FD_A = 11, FD_G = 12, FD_U = 13, FD_P = 14 };
enum { FD_S1 = 20, FD_S2 = 21, FD_S3 = 22, FD_TO_G = 23, FD_PAIR = 24 };
enum { kGroup = 4242, kBig = 60000 };

struct name {
  struct sockaddr_un address;
  socklen_t length;
};

static struct name log_name, s1_name, gone_name, abstract_name, pair_name, outside_name, foreign_name;
static int rcvbuf_at_setup, sndbuf_at_setup;
static const struct name* const kUnbound = NULL;

static void make_path(struct name* n, const char* dir, const char* file) {
  n->address.sun_family = AF_UNIX;
  snprintf(n->address.sun_path, sizeof n->address.sun_path, "%s/%s", dir, file);
  n->length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(n->address.sun_path) + 1);
}

static void make_abstract(struct name* n, const char* prefix, const char* dir) {
  n->address.sun_family = AF_UNIX;
  int length = snprintf(n->address.sun_path + 1, sizeof n->address.sun_path - 1, "%s:%s", prefix, dir);
  n->length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)length);
}

static const char* shown(const struct name* n) {
  static char text[2][sizeof n->address.sun_path + 1];
  static int which;
  char* out = text[which ^= 1];
  if (!n) return "(unbound)";
  if (n->address.sun_path[0]) return n->address.sun_path;
  out[0] = '@';
  memcpy(out + 1, n->address.sun_path + 1, n->length - offsetof(struct sockaddr_un, sun_path) - 1);
  out[n->length - offsetof(struct sockaddr_un, sun_path)] = 0;
  return out;
}

static void move_to(int fd, int number) {
  SETUP_OR_DIE(fd >= 0 && dup2(fd, number) == number, "dup2 to %d: %s\n", number, strerror(errno));
  close(fd);
}

static int dgram(const struct name* bound_to) {
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  SETUP_OR_DIE(fd >= 0, "socket: %s\n", strerror(errno));
  if (bound_to)
    SETUP_OR_DIE(bind(fd, (const struct sockaddr*)&bound_to->address, bound_to->length) == 0, "bind %s: %s\n", shown(bound_to), strerror(errno));
  return fd;
}

static void connect_to(int fd, const struct name* n) {
  SETUP_OR_DIE(connect(fd, (const struct sockaddr*)&n->address, n->length) == 0, "connect %d to %s: %s\n", fd, shown(n), strerror(errno));
}

static void send_to(int fd, const struct name* n, const char* data, size_t length) {
  ssize_t sent = n ? sendto(fd, data, length, 0, (const struct sockaddr*)&n->address, n->length) : send(fd, data, length, 0);
  SETUP_OR_DIE(sent == (ssize_t)length, "send from %d to %s: %s\n", fd, shown(n), strerror(errno));
}

static void send_text(int fd, const struct name* n, const char* text) { send_to(fd, n, text, strlen(text)); }

static int option(int fd, int name) {
  int value = -1;
  socklen_t size = sizeof value;
  getsockopt(fd, SOL_SOCKET, name, &value, &size);
  return value;
}

static int same_name(const struct sockaddr_un* got, socklen_t length, const struct name* want) {
  if (!want) return length == 0 || length == sizeof(sa_family_t);
  return length == want->length && memcmp(got, &want->address, length) == 0;
}

static const char* got_name(const struct sockaddr_un* got, socklen_t length) {
  static struct name n;
  if (length <= sizeof(sa_family_t)) return "(unbound)";
  memcpy(&n.address, got, length);
  n.length = length;
  return shown(&n);
}

// The next datagram queued to `fd` is `length` bytes of `data` from `sender` (NULL: unbound).
static void expect_datagram(const char* who, int fd, const char* data, size_t length, const struct name* sender) {
  static char buffer[kBig + 16];
  struct sockaddr_un from;
  memset(&from, 0, sizeof from);
  socklen_t from_length = sizeof from;
  ssize_t n = recvfrom(fd, buffer, sizeof buffer, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr*)&from, &from_length);
  if (n < 0) {
    EXPECT_OR_FAIL(0, "%s: fd %d: no datagram, expected %zu bytes from %s (%s)\n", who, fd, length, shown(sender), strerror(errno));
    return;
  }
  EXPECT_OR_FAIL((size_t)n == length && memcmp(buffer, data, length) == 0, "%s: fd %d: a datagram of %zd bytes '%.40s', expected %zu bytes '%.40s'\n",
                 who, fd, n, n > 0 ? buffer : "", length, data);
  EXPECT_OR_FAIL(same_name(&from, from_length, sender), "%s: fd %d: datagram '%.40s' from %s, expected from %s\n", who, fd, data,
                 got_name(&from, from_length), shown(sender));
}

static void expect_text(const char* who, int fd, const char* text, const struct name* sender) {
  expect_datagram(who, fd, text, strlen(text), sender);
}

// For a datagram that comes after the restore: waits a little for it.
static void expect_live(const char* who, int fd, const char* text, const struct name* sender) {
  for (int i = 0; i < 500; ++i) {
    char byte;
    if (recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) >= 0) break;
    sleep_ms(10);
  }
  expect_text(who, fd, text, sender);
}

static void expect_nothing_queued(const char* who, int fd) {
  char byte;
  ssize_t n = recv(fd, &byte, 1, MSG_DONTWAIT);
  EXPECT_OR_FAIL(n < 0 && errno == EAGAIN, "%s: fd %d has more queued than expected (recv gave %zd)\n", who, fd, n);
}

// getsockname (peer 0) or getpeername (peer 1) gives `want`; NULL: unbound, or for a peer: not connected.
static void expect_name(const char* who, int fd, int peer, const struct name* want, int connected) {
  struct sockaddr_un got;
  memset(&got, 0, sizeof got);
  socklen_t length = sizeof got;
  int r = peer ? getpeername(fd, (struct sockaddr*)&got, &length) : getsockname(fd, (struct sockaddr*)&got, &length);
  const char* call = peer ? "getpeername" : "getsockname";
  if (peer && !connected) {
    EXPECT_OR_FAIL(r != 0 && errno == ENOTCONN, "%s: fd %d: %s gave %s, expected ENOTCONN\n", who, fd, call, r == 0 ? got_name(&got, length) : strerror(errno));
    return;
  }
  if (r != 0) {
    EXPECT_OR_FAIL(0, "%s: fd %d: %s: %s\n", who, fd, call, strerror(errno));
    return;
  }
  EXPECT_OR_FAIL(same_name(&got, length, want), "%s: fd %d: %s gave %s, expected %s\n", who, fd, call, got_name(&got, length), shown(want));
}

static char big[kBig];

static void fill_big(void) {
  for (size_t i = 0; i < sizeof big; ++i) big[i] = (char)('a' + (i * 7 + i / 251) % 26);
}

static void setup_tree(void) {
  unlink(log_name.address.sun_path);
  unlink(s1_name.address.sun_path);
  unlink(gone_name.address.sun_path);
  move_to(dgram(&log_name), FD_R);
  SETUP_OR_DIE(chmod(log_name.address.sun_path, 0640) == 0 && chown(log_name.address.sun_path, 0, kGroup) == 0, "chmod/chown: %s\n", strerror(errno));
  int rcvbuf = 100000;
  SETUP_OR_DIE(setsockopt(FD_R, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) == 0, "SO_RCVBUF: %s\n", strerror(errno));
  rcvbuf_at_setup = option(FD_R, SO_RCVBUF);
  move_to(dgram(&abstract_name), FD_A);
  move_to(dgram(&gone_name), FD_G);
  move_to(dgram(kUnbound), FD_U);
  int pair[2];
  SETUP_OR_DIE(socketpair(AF_UNIX, SOCK_DGRAM, 0, pair) == 0, "socketpair: %s\n", strerror(errno));
  move_to(pair[0], FD_P);
  move_to(pair[1], FD_PAIR);
  SETUP_OR_DIE(bind(FD_P, (const struct sockaddr*)&pair_name.address, pair_name.length) == 0, "bind the pair end: %s\n", strerror(errno));

  move_to(dgram(&s1_name), FD_S1);
  int sndbuf = 50000;
  SETUP_OR_DIE(setsockopt(FD_S1, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) == 0, "SO_SNDBUF: %s\n", strerror(errno));
  sndbuf_at_setup = option(FD_S1, SO_SNDBUF);
  move_to(dgram(kUnbound), FD_S2);
  move_to(dgram(kUnbound), FD_S3);
  move_to(dgram(kUnbound), FD_TO_G);

  // Several senders connected to A, then A connected back to S1: from then on A hears only S1.
  connect_to(FD_S1, &abstract_name);
  connect_to(FD_S2, &abstract_name);
  send_text(FD_S2, NULL, "s2 to a, first");
  send_text(FD_S3, &abstract_name, "s3 to a by sendto");
  connect_to(FD_A, &s1_name);
  send_text(FD_S1, NULL, "s1 to a");
  send_text(FD_A, NULL, "a replies to s1");

  // R, the log receiver, hears everyone by sendto.
  send_text(FD_S3, &log_name, "<13>s3: first line");
  send_text(FD_S1, &log_name, "<13>s1: a line from a named sender");
  send_text(FD_R, &log_name, "r to itself");
  send_to(FD_S2, &log_name, big, sizeof big);
  int gone_sender = dgram(kUnbound);
  send_text(gone_sender, &log_name, "from a sender that closed");
  close(gone_sender);

  connect_to(FD_TO_G, &gone_name);
  SETUP_OR_DIE(unlink(gone_name.address.sun_path) == 0, "unlink: %s\n", strerror(errno));
  send_text(FD_TO_G, NULL, "to gone");

  send_text(FD_PAIR, NULL, "pair to the bound end");
  send_text(FD_P, NULL, "bound end to pair");
}

static void child_checks(void) {
  const char* who = "senders";
  expect_name(who, FD_S1, 0, &s1_name, 1);
  expect_name(who, FD_S1, 1, &abstract_name, 1);
  expect_name(who, FD_S2, 0, kUnbound, 1);
  expect_name(who, FD_S2, 1, &abstract_name, 1);
  expect_name(who, FD_S3, 0, kUnbound, 1);
  expect_name(who, FD_S3, 1, NULL, 0);
  expect_name(who, FD_TO_G, 1, &gone_name, 1);
  expect_name(who, FD_PAIR, 0, kUnbound, 1);
  expect_name(who, FD_PAIR, 1, &pair_name, 1);
  EXPECT_OR_FAIL(option(FD_S1, SO_SNDBUF) == sndbuf_at_setup, "fd %d: SO_SNDBUF %d, expected %d\n", FD_S1, option(FD_S1, SO_SNDBUF), sndbuf_at_setup);
  EXPECT_OR_FAIL(option(FD_S1, SO_TYPE) == SOCK_DGRAM, "fd %d is not a datagram socket\n", FD_S1);
  expect_text(who, FD_S1, "a replies to s1", &abstract_name);
  expect_nothing_queued(who, FD_S1);
  expect_text(who, FD_PAIR, "bound end to pair", &pair_name);
  expect_nothing_queued(who, FD_PAIR);
  for (int fd = FD_S2; fd <= FD_TO_G; ++fd) expect_nothing_queued(who, fd);
  // Sending after the restore.
  send_text(FD_S1, NULL, "live s1 to a");
  errno = 0;
  EXPECT_OR_FAIL(send(FD_S2, "x", 1, MSG_DONTWAIT) < 0 && errno == EPERM, "S2 could send to A, which is connected to S1 (%s)\n", strerror(errno));
  send_text(FD_TO_G, NULL, "live to gone");
  send_text(FD_S3, &log_name, "live s3 line");
  send_text(FD_PAIR, NULL, "live pair");
}

static int run_child(void) {
  install_check_handler();
  wait_for_check();
  child_checks();
  return problems_found == 0 ? 0 : 1;
}

static void init_checks(void) {
  const char* who = "receivers";
  expect_name(who, FD_R, 0, &log_name, 1);
  expect_name(who, FD_R, 1, NULL, 0);
  expect_name(who, FD_A, 0, &abstract_name, 1);
  expect_name(who, FD_A, 1, &s1_name, 1);
  expect_name(who, FD_G, 0, &gone_name, 1);
  expect_name(who, FD_G, 1, NULL, 0);
  expect_name(who, FD_U, 0, kUnbound, 1);
  expect_name(who, FD_U, 1, NULL, 0);
  expect_name(who, FD_P, 0, &pair_name, 1);
  expect_name(who, FD_P, 1, kUnbound, 1);
  for (int fd = FD_R; fd <= FD_P; ++fd)
    EXPECT_OR_FAIL(option(fd, SO_TYPE) == SOCK_DGRAM && option(fd, SO_DOMAIN) == AF_UNIX, "fd %d is not an AF_UNIX datagram socket\n", fd);
  EXPECT_OR_FAIL(option(FD_R, SO_RCVBUF) == rcvbuf_at_setup, "fd %d: SO_RCVBUF %d, expected %d\n", FD_R, option(FD_R, SO_RCVBUF), rcvbuf_at_setup);
  struct stat st;
  EXPECT_OR_FAIL(lstat(log_name.address.sun_path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 07777) == 0640 && st.st_gid == kGroup,
                 "%s: mode %o group %d, expected a socket file of mode 640, group %d\n", log_name.address.sun_path, (unsigned)st.st_mode,
                 (int)st.st_gid, kGroup);
  EXPECT_OR_FAIL(lstat(gone_name.address.sun_path, &st) != 0 && errno == ENOENT, "%s exists again\n", gone_name.address.sun_path);

  expect_text(who, FD_R, "<13>s3: first line", kUnbound);
  expect_text(who, FD_R, "<13>s1: a line from a named sender", &s1_name);
  expect_text(who, FD_R, "r to itself", &log_name);
  expect_datagram(who, FD_R, big, sizeof big, kUnbound);
  expect_text(who, FD_R, "from a sender that closed", kUnbound);
  expect_nothing_queued(who, FD_R);
  expect_text(who, FD_A, "s2 to a, first", kUnbound);
  expect_text(who, FD_A, "s3 to a by sendto", kUnbound);
  expect_text(who, FD_A, "s1 to a", &s1_name);
  expect_nothing_queued(who, FD_A);
  expect_text(who, FD_G, "to gone", kUnbound);
  expect_nothing_queued(who, FD_G);
  expect_text(who, FD_P, "pair to the bound end", kUnbound);
  expect_nothing_queued(who, FD_P);
  expect_nothing_queued(who, FD_U);
}

static int run_tree(void) {
  setup_tree();
  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) {
    for (int fd = FD_R; fd <= FD_P; ++fd) close(fd);
    _exit(run_child());
  }
  for (int fd = FD_S1; fd <= FD_PAIR; ++fd) close(fd);
  say("READY receivers %d senders %d\n", (int)getpid(), (int)child);
  wait_for_check();
  init_checks();
  SETUP_OR_DIE(kill(child, SIGUSR1) == 0, "kill: %s\n", strerror(errno));
  int status = 0;
  SETUP_OR_DIE(waitpid(child, &status, 0) == child, "waitpid: %s\n", strerror(errno));
  EXPECT_OR_FAIL(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the senders' checks failed (status %d)\n", status);
  const char* who = "after the restore";
  expect_live(who, FD_A, "live s1 to a", &s1_name);
  expect_nothing_queued(who, FD_A);
  expect_live(who, FD_G, "live to gone", kUnbound);
  expect_live(who, FD_R, "live s3 line", kUnbound);
  expect_live(who, FD_P, "live pair", kUnbound);
  // A socket made after the restore reaches R by its path; A still sends to S1 (closed now).
  int fresh = dgram(kUnbound);
  send_text(fresh, &log_name, "a new socket's line");
  close(fresh);
  expect_live(who, FD_R, "a new socket's line", kUnbound);
  EXPECT_OR_FAIL(send(FD_A, "x", 1, MSG_DONTWAIT) < 0 && errno == ECONNREFUSED, "A sent to its closed peer S1 (%s)\n", strerror(errno));
  unlink(log_name.address.sun_path);
  unlink(s1_name.address.sun_path);
  finish();
  return 0;
}

// A refused dump leaves fd 10 as it was.
static int run_refused(const char* mode) {
  unlink(log_name.address.sun_path);
  if (strcmp(mode, "outside") == 0) {
    move_to(dgram(kUnbound), FD_R);
    connect_to(FD_R, &outside_name);
  } else {
    move_to(dgram(&log_name), FD_R);
    int on = 1;
    SETUP_OR_DIE(strcmp(mode, "passcred") != 0 || setsockopt(FD_R, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0, "SO_PASSCRED: %s\n", strerror(errno));
    if (strcmp(mode, "empty") == 0) {
      int sender = dgram(kUnbound);
      send_to(sender, &log_name, "", 0);
      close(sender);
    }
  }
  say("READY dgram %s\n", mode);
  wait_for_check();
  const char* who = mode;
  if (strcmp(mode, "outside") == 0) {
    expect_name(who, FD_R, 1, &outside_name, 1);
    send_text(FD_R, NULL, "still connected");
  } else {
    expect_name(who, FD_R, 0, &log_name, 1);
    if (strcmp(mode, "foreign") == 0) expect_text(who, FD_R, "from outside", &foreign_name);
    if (strcmp(mode, "empty") == 0) expect_datagram(who, FD_R, "", 0, kUnbound);
    expect_nothing_queued(who, FD_R);
    unlink(log_name.address.sun_path);
  }
  finish();
  return 0;
}

int main(int argc, char** argv) {
  install_check_handler();
  const char* dir = arg_string(argc, argv, "dir", "/tmp");
  const char* mode = arg_string(argc, argv, "mode", "tree");
  make_path(&log_name, dir, "log.sock");
  make_path(&s1_name, dir, "s1.sock");
  make_path(&gone_name, dir, "gone.sock");
  make_path(&outside_name, dir, "outside.sock");
  make_path(&foreign_name, dir, "foreign.sock");
  make_abstract(&abstract_name, "cr_unix_dgram", dir);
  make_abstract(&pair_name, "cr_unix_dgram-pair", dir);
  fill_big();
  return strcmp(mode, "tree") == 0 ? run_tree() : run_refused(mode);
}
