// Checkpoint/restore workload: listening AF_UNIX sockets (a server's control socket) come back on
// their names with their backlog, socket file mode and owner, and the connections they accepted
// from a client of the tree come back connected, with their names and unread data.
//
//   cr_unix_listen --dir=DIR
//
// The init (the server):
//   fd 10: SOCK_STREAM listening on DIR/ctl.sock (backlog 7), the file mode 0660, group 4242
//   fd 11: SOCK_SEQPACKET listening on the abstract name "@cr_unix_listen:DIR" (backlog 3), O_NONBLOCK
//   fd 12: SOCK_STREAM listening on DIR/gone.sock, whose file was unlinked after bind
//   fd 13, 14, 15: the connections accepted on 10, 11, 12 from the child
// The child (the client): fds 20, 21, 22 connected to 10, 11, 12. Unread data waits both ways on
// every connection (two records each way on the seqpacket one).
// On SIGUSR1 the init tells the child to check, and both check names, peers, types, listening and
// the data; then a live exchange on the old connection, and a new process (forked after the
// restore) connects to both named listeners and trades a message with the init.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { FD_CTL = 10, FD_ABSTRACT = 11, FD_GONE = 12, FD_CTL_CONN = 13, FD_ABSTRACT_CONN = 14, FD_GONE_CONN = 15 };
enum { FD_CLIENT_CTL = 20, FD_CLIENT_ABSTRACT = 21, FD_CLIENT_GONE = 22 };
enum { kGroup = 4242 };

static struct sockaddr_un ctl_address, abstract_address, gone_address;
static socklen_t ctl_length, abstract_length, gone_length;

static void make_addresses(const char* dir) {
  ctl_address.sun_family = abstract_address.sun_family = gone_address.sun_family = AF_UNIX;
  snprintf(ctl_address.sun_path, sizeof ctl_address.sun_path, "%s/ctl.sock", dir);
  snprintf(gone_address.sun_path, sizeof gone_address.sun_path, "%s/gone.sock", dir);
  ctl_length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(ctl_address.sun_path) + 1);
  gone_length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(gone_address.sun_path) + 1);
  // Abstract: a leading NUL, the length counts exactly the name's bytes.
  int n = snprintf(abstract_address.sun_path + 1, sizeof abstract_address.sun_path - 1, "cr_unix_listen:%s", dir);
  abstract_length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static void move_to(int fd, int number) {
  SETUP_OR_DIE(fd >= 0 && dup2(fd, number) == number, "dup2 to %d: %s\n", number, strerror(errno));
  close(fd);
}

static int listener(int type, const struct sockaddr_un* address, socklen_t length, int backlog) {
  int fd = socket(AF_UNIX, type, 0);
  SETUP_OR_DIE(fd >= 0 && bind(fd, (const struct sockaddr*)address, length) == 0 && listen(fd, backlog) == 0,
               "listener: %s\n", strerror(errno));
  return fd;
}

static int connect_to(int type, const struct sockaddr_un* address, socklen_t length) {
  int fd = socket(AF_UNIX, type, 0);
  if (fd < 0 || connect(fd, (const struct sockaddr*)address, length) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

static void send_text(int fd, const char* text) {
  SETUP_OR_DIE(send(fd, text, strlen(text), 0) == (ssize_t)strlen(text), "send: %s\n", strerror(errno));
}

// One read of what is queued (a whole record for seqpacket) must be `want`.
static void expect_read(const char* who, int fd, const char* want) {
  char buffer[256] = {0};
  ssize_t n = recv(fd, buffer, sizeof buffer - 1, MSG_DONTWAIT);
  EXPECT_OR_FAIL(n == (ssize_t)strlen(want) && memcmp(buffer, want, (size_t)n) == 0, "%s: fd %d read %zd bytes '%s', expected '%s' (%s)\n",
                 who, fd, n, n > 0 ? buffer : "", want, n < 0 ? strerror(errno) : "");
}

static void expect_nothing_queued(const char* who, int fd) {
  char byte;
  ssize_t n = recv(fd, &byte, 1, MSG_DONTWAIT);
  EXPECT_OR_FAIL(n < 0 && errno == EAGAIN, "%s: fd %d has more queued than expected (recv gave %zd)\n", who, fd, n);
}

static int option(int fd, int name) {
  int value = -1;
  socklen_t size = sizeof value;
  getsockopt(fd, SOL_SOCKET, name, &value, &size);
  return value;
}

// getsockname (self) or getpeername must give exactly `want`/`want_length`; NULL: unbound.
static void expect_name(const char* who, int fd, int peer, const struct sockaddr_un* want, socklen_t want_length) {
  struct sockaddr_un got;
  memset(&got, 0, sizeof got);
  socklen_t length = sizeof got;
  int r = peer ? getpeername(fd, (struct sockaddr*)&got, &length) : getsockname(fd, (struct sockaddr*)&got, &length);
  const char* call = peer ? "getpeername" : "getsockname";
  if (r != 0) {
    EXPECT_OR_FAIL(0, "%s: fd %d: %s: %s\n", who, fd, call, strerror(errno));
    return;
  }
  if (!want) {
    EXPECT_OR_FAIL(length == sizeof(sa_family_t), "%s: fd %d: %s gave a name of %u bytes, expected none\n", who, fd, call, length);
    return;
  }
  EXPECT_OR_FAIL(length == want_length && memcmp(&got, want, length) == 0, "%s: fd %d: %s gave '%s%s' (%u bytes), expected '%s%s' (%u bytes)\n", who,
                 fd, call, got.sun_path[0] ? "" : "@", got.sun_path[0] ? got.sun_path : got.sun_path + 1, length,
                 want->sun_path[0] ? "" : "@", want->sun_path[0] ? want->sun_path : want->sun_path + 1, want_length);
}

static void expect_socket(const char* who, int fd, int type, int listening) {
  EXPECT_OR_FAIL(option(fd, SO_TYPE) == type, "%s: fd %d has type %d, expected %d\n", who, fd, option(fd, SO_TYPE), type);
  EXPECT_OR_FAIL(option(fd, SO_ACCEPTCONN) == listening, "%s: fd %d listening is %d, expected %d\n", who, fd, option(fd, SO_ACCEPTCONN), listening);
}

static void child_checks(void) {
  const char* who = "client";
  expect_socket(who, FD_CLIENT_CTL, SOCK_STREAM, 0);
  expect_socket(who, FD_CLIENT_ABSTRACT, SOCK_SEQPACKET, 0);
  expect_socket(who, FD_CLIENT_GONE, SOCK_STREAM, 0);
  expect_name(who, FD_CLIENT_CTL, 1, &ctl_address, ctl_length);
  expect_name(who, FD_CLIENT_ABSTRACT, 1, &abstract_address, abstract_length);
  expect_name(who, FD_CLIENT_GONE, 1, &gone_address, gone_length);
  for (int fd = FD_CLIENT_CTL; fd <= FD_CLIENT_GONE; ++fd) expect_name(who, fd, 0, NULL, 0);
  expect_read(who, FD_CLIENT_CTL, "server says hello on ctl");
  expect_nothing_queued(who, FD_CLIENT_CTL);
  expect_read(who, FD_CLIENT_ABSTRACT, "record one");
  expect_read(who, FD_CLIENT_ABSTRACT, "record two, longer");
  expect_nothing_queued(who, FD_CLIENT_ABSTRACT);
  expect_read(who, FD_CLIENT_GONE, "gone but connected");
  // The connection still carries data both ways.
  send_text(FD_CLIENT_CTL, "live");
}

static int run_child(int ready_fd) {
  install_check_handler();
  move_to(connect_to(SOCK_STREAM, &ctl_address, ctl_length), FD_CLIENT_CTL);
  move_to(connect_to(SOCK_SEQPACKET, &abstract_address, abstract_length), FD_CLIENT_ABSTRACT);
  move_to(connect_to(SOCK_STREAM, &gone_address, gone_length), FD_CLIENT_GONE);
  send_text(FD_CLIENT_CTL, "client says hello on ctl");
  send_text(FD_CLIENT_ABSTRACT, "first");
  send_text(FD_CLIENT_ABSTRACT, "second record");
  SETUP_OR_DIE(write(ready_fd, "c", 1) == 1, "write: %s\n", strerror(errno));
  close(ready_fd);
  wait_for_check();
  child_checks();
  return problems_found == 0 ? 0 : 1;
}

// After the restore: a process that did not exist at the dump connects to both named listeners.
static int run_new_client(void) {
  int ctl = connect_to(SOCK_STREAM, &ctl_address, ctl_length);
  int abstract = connect_to(SOCK_SEQPACKET, &abstract_address, abstract_length);
  if (ctl < 0 || abstract < 0) {
    say("FAIL: new client: connect to %s: %s\n", ctl < 0 ? ctl_address.sun_path : "the abstract name", strerror(errno));
    return 1;
  }
  send_text(ctl, "new on ctl");
  send_text(abstract, "new on abstract");
  char a[8] = {0}, b[8] = {0};
  int ok = read(ctl, a, 2) == 2 && memcmp(a, "ok", 2) == 0 && read(abstract, b, sizeof b) == 2 && memcmp(b, "ok", 2) == 0;
  if (!ok) say("FAIL: new client: no answer from the listeners\n");
  return ok ? 0 : 1;
}

static void serve_new(const char* who, int listener, const char* want) {
  int conn = -1;
  for (int i = 0; i < 500 && conn < 0; ++i) {
    conn = accept(listener, NULL, NULL);
    if (conn < 0) sleep_ms(10);
  }
  if (conn < 0) {
    EXPECT_OR_FAIL(0, "%s: accept of the new client: %s\n", who, strerror(errno));
    return;
  }
  char buffer[64] = {0};
  ssize_t n = -1;
  for (int i = 0; i < 500 && n < 0; ++i) {
    n = recv(conn, buffer, sizeof buffer - 1, MSG_DONTWAIT);
    if (n < 0) sleep_ms(10);
  }
  EXPECT_OR_FAIL(n == (ssize_t)strlen(want) && memcmp(buffer, want, (size_t)n) == 0, "%s: the new client sent '%s'\n", who, buffer);
  EXPECT_OR_FAIL(send(conn, "ok", 2, 0) == 2, "%s: answer: %s\n", who, strerror(errno));
  close(conn);
}

int main(int argc, char** argv) {
  install_check_handler();
  const char* dir = arg_string(argc, argv, "dir", "/tmp");
  make_addresses(dir);
  unlink(ctl_address.sun_path);
  unlink(gone_address.sun_path);
  move_to(listener(SOCK_STREAM, &ctl_address, ctl_length, 7), FD_CTL);
  SETUP_OR_DIE(chmod(ctl_address.sun_path, 0660) == 0 && chown(ctl_address.sun_path, 0, kGroup) == 0, "chmod/chown: %s\n", strerror(errno));
  move_to(listener(SOCK_SEQPACKET, &abstract_address, abstract_length, 3), FD_ABSTRACT);
  SETUP_OR_DIE(fcntl(FD_ABSTRACT, F_SETFL, O_NONBLOCK) == 0, "fcntl: %s\n", strerror(errno));
  move_to(listener(SOCK_STREAM, &gone_address, gone_length, 2), FD_GONE);

  int ready[2];
  SETUP_OR_DIE(pipe(ready) == 0, "pipe: %s\n", strerror(errno));
  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) {
    close(ready[0]);
    for (int fd = FD_CTL; fd <= FD_GONE; ++fd) close(fd);
    _exit(run_child(ready[1]));
  }
  close(ready[1]);
  char byte;
  SETUP_OR_DIE(read(ready[0], &byte, 1) == 1, "the client did not connect\n");
  close(ready[0]);
  move_to(accept(FD_CTL, NULL, NULL), FD_CTL_CONN);
  move_to(accept(FD_ABSTRACT, NULL, NULL), FD_ABSTRACT_CONN);
  move_to(accept(FD_GONE, NULL, NULL), FD_GONE_CONN);
  SETUP_OR_DIE(unlink(gone_address.sun_path) == 0, "unlink: %s\n", strerror(errno));
  send_text(FD_CTL_CONN, "server says hello on ctl");
  send_text(FD_ABSTRACT_CONN, "record one");
  send_text(FD_ABSTRACT_CONN, "record two, longer");
  send_text(FD_GONE_CONN, "gone but connected");
  say("READY server %d client %d\n", (int)getpid(), (int)child);
  wait_for_check();

  const char* who = "server";
  expect_socket(who, FD_CTL, SOCK_STREAM, 1);
  expect_socket(who, FD_ABSTRACT, SOCK_SEQPACKET, 1);
  expect_socket(who, FD_GONE, SOCK_STREAM, 1);
  expect_socket(who, FD_CTL_CONN, SOCK_STREAM, 0);
  expect_socket(who, FD_ABSTRACT_CONN, SOCK_SEQPACKET, 0);
  expect_socket(who, FD_GONE_CONN, SOCK_STREAM, 0);
  expect_name(who, FD_CTL, 0, &ctl_address, ctl_length);
  expect_name(who, FD_ABSTRACT, 0, &abstract_address, abstract_length);
  expect_name(who, FD_GONE, 0, &gone_address, gone_length);
  expect_name(who, FD_CTL_CONN, 0, &ctl_address, ctl_length);
  expect_name(who, FD_ABSTRACT_CONN, 0, &abstract_address, abstract_length);
  expect_name(who, FD_GONE_CONN, 0, &gone_address, gone_length);
  for (int fd = FD_CTL_CONN; fd <= FD_GONE_CONN; ++fd) expect_name(who, fd, 1, NULL, 0);
  EXPECT_OR_FAIL(fcntl(FD_ABSTRACT, F_GETFL) & O_NONBLOCK, "fd %d lost O_NONBLOCK\n", FD_ABSTRACT);
  EXPECT_OR_FAIL(!(fcntl(FD_CTL, F_GETFL) & O_NONBLOCK), "fd %d became non-blocking\n", FD_CTL);
  struct stat st;
  EXPECT_OR_FAIL(lstat(ctl_address.sun_path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 07777) == 0660 && st.st_gid == kGroup,
                 "%s: mode %o group %d, expected a socket file of mode 660, group %d\n", ctl_address.sun_path, (unsigned)st.st_mode,
                 (int)st.st_gid, kGroup);
  EXPECT_OR_FAIL(lstat(gone_address.sun_path, &st) != 0 && errno == ENOENT, "%s exists again\n", gone_address.sun_path);
  expect_read(who, FD_CTL_CONN, "client says hello on ctl");
  expect_nothing_queued(who, FD_CTL_CONN);
  expect_read(who, FD_ABSTRACT_CONN, "first");
  expect_read(who, FD_ABSTRACT_CONN, "second record");
  expect_nothing_queued(who, FD_ABSTRACT_CONN);
  expect_nothing_queued(who, FD_GONE_CONN);

  // The client checks its side, then sends "live" on its ctl connection.
  SETUP_OR_DIE(kill(child, SIGUSR1) == 0, "kill: %s\n", strerror(errno));
  int status = 0;
  SETUP_OR_DIE(waitpid(child, &status, 0) == child, "waitpid: %s\n", strerror(errno));
  EXPECT_OR_FAIL(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the client's checks failed (status %d)\n", status);
  expect_read(who, FD_CTL_CONN, "live");

  pid_t fresh = fork();
  SETUP_OR_DIE(fresh >= 0, "fork: %s\n", strerror(errno));
  if (fresh == 0) _exit(run_new_client());
  serve_new("ctl listener", FD_CTL, "new on ctl");
  serve_new("abstract listener", FD_ABSTRACT, "new on abstract");
  SETUP_OR_DIE(waitpid(fresh, &status, 0) == fresh, "waitpid: %s\n", strerror(errno));
  EXPECT_OR_FAIL(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the new client failed (status %d)\n", status);
  EXPECT_OR_FAIL(connect_to(SOCK_STREAM, &gone_address, gone_length) < 0 && errno == ENOENT, "a client connected to the unlinked path\n");
  unlink(ctl_address.sun_path);
  finish();
}
