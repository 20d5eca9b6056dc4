// Checkpoint/restore workload: sockets cryo cannot restore are refused at dump, and the tree runs on.
//
//   cr_sockets --mode=listen|relative|passcred|boundclient|outside|inet|halfshut|scm --dir=DIR
//
//   listen:     fd 10 is an AF_UNIX SOCK_STREAM socket bound to DIR/listen.sock and listening, with a
//               connection (from fd 11) waiting to be accepted
//   relative:   the same listener bound by the relative name "listen.sock" from DIR, nothing waiting
//   passcred:   the same listener, nothing waiting, with SO_PASSCRED set
//   boundclient: fd 10 is a client bound to DIR/client.sock before it connected to a listener
//               (fd 11) on DIR/listen.sock, which accepted it (fd 12)
//   outside:    fd 10 is connected to DIR/outside.sock, where the test listens outside the tree
//   inet:       fd 10 is an AF_INET SOCK_DGRAM socket bound to 127.0.0.1 (any port)
//   halfshut:   fd 10 is one end of a SOCK_STREAM socketpair, shut down for reading (its peer, fd 11, open)
//   scm:        fd 10 is one end of a SOCK_DGRAM socketpair with an fd in flight (SCM_RIGHTS) to it
// On SIGUSR1 it checks that fd 10 is still the socket it made (its address) and, for listen, that
// a new connection to it is accepted: the refused dump left it untouched.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "cr_common.h"

enum { FD_SOCKET = 10 };

int main(int argc, char** argv) {
  install_check_handler();
  const char* mode = arg_string(argc, argv, "mode", "listen");
  const char* dir = arg_string(argc, argv, "dir", "/tmp");
  int listen_mode = strcmp(mode, "listen") == 0 || strcmp(mode, "relative") == 0 || strcmp(mode, "passcred") == 0;
  struct sockaddr_un unix_address = {.sun_family = AF_UNIX};
  snprintf(unix_address.sun_path, sizeof unix_address.sun_path, "%s/listen.sock", dir);
  int fd;
  if (listen_mode) {
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    SETUP_OR_DIE(fd >= 0, "socket: %s\n", strerror(errno));
    unlink(unix_address.sun_path);
    struct sockaddr_un bound = unix_address;
    if (mode[0] == 'r') {
      SETUP_OR_DIE(chdir(dir) == 0, "chdir: %s\n", strerror(errno));
      snprintf(bound.sun_path, sizeof bound.sun_path, "listen.sock");
    }
    int on = 1;
    SETUP_OR_DIE(mode[0] != 'p' || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0, "SO_PASSCRED: %s\n", strerror(errno));
    SETUP_OR_DIE(bind(fd, (struct sockaddr*)&bound, sizeof bound) == 0, "bind: %s\n", strerror(errno));
    SETUP_OR_DIE(listen(fd, 4) == 0, "listen: %s\n", strerror(errno));
    if (mode[0] == 'l') {
      int waiting = socket(AF_UNIX, SOCK_STREAM, 0);
      SETUP_OR_DIE(waiting >= 0 && connect(waiting, (struct sockaddr*)&unix_address, sizeof unix_address) == 0, "connect: %s\n", strerror(errno));
      SETUP_OR_DIE(dup2(waiting, 11) == 11, "dup2: %s\n", strerror(errno));
      close(waiting);
    }
  } else if (strcmp(mode, "boundclient") == 0) {
    int server = socket(AF_UNIX, SOCK_STREAM, 0);
    unlink(unix_address.sun_path);
    SETUP_OR_DIE(server >= 0 && bind(server, (struct sockaddr*)&unix_address, sizeof unix_address) == 0 && listen(server, 4) == 0,
                 "listener: %s\n", strerror(errno));
    struct sockaddr_un client_address = {.sun_family = AF_UNIX};
    snprintf(client_address.sun_path, sizeof client_address.sun_path, "%s/client.sock", dir);
    unlink(client_address.sun_path);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    SETUP_OR_DIE(fd >= 0 && bind(fd, (struct sockaddr*)&client_address, sizeof client_address) == 0 &&
                     connect(fd, (struct sockaddr*)&unix_address, sizeof unix_address) == 0,
                 "bound client: %s\n", strerror(errno));
    int accepted = accept(server, NULL, NULL);
    SETUP_OR_DIE(accepted >= 0 && dup2(server, 11) == 11 && dup2(accepted, 12) == 12, "accept: %s\n", strerror(errno));
    close(server);
    close(accepted);
  } else if (strcmp(mode, "outside") == 0) {
    struct sockaddr_un outside = {.sun_family = AF_UNIX};
    snprintf(outside.sun_path, sizeof outside.sun_path, "%s/outside.sock", dir);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    SETUP_OR_DIE(fd >= 0 && connect(fd, (struct sockaddr*)&outside, sizeof outside) == 0, "connect to %s: %s\n", outside.sun_path, strerror(errno));
  } else if (strcmp(mode, "halfshut") == 0 || strcmp(mode, "scm") == 0) {
    int sv[2];
    SETUP_OR_DIE(socketpair(AF_UNIX, mode[0] == 'h' ? SOCK_STREAM : SOCK_DGRAM, 0, sv) == 0, "socketpair: %s\n", strerror(errno));
    fd = sv[0];
    if (mode[0] == 's') {
      // Sends fd 0 to fd 10 and leaves it unread.
      char byte = 'x';
      struct iovec iov = {&byte, 1};
      union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(int))];
      } control;
      memset(&control, 0, sizeof control);
      struct msghdr message = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space};
      struct cmsghdr* header = CMSG_FIRSTHDR(&message);
      header->cmsg_level = SOL_SOCKET;
      header->cmsg_type = SCM_RIGHTS;
      header->cmsg_len = CMSG_LEN(sizeof(int));
      int passed = 0;
      memcpy(CMSG_DATA(header), &passed, sizeof passed);
      SETUP_OR_DIE(sendmsg(sv[1], &message, 0) == 1, "sendmsg: %s\n", strerror(errno));
    } else {
      SETUP_OR_DIE(shutdown(fd, SHUT_RD) == 0, "shutdown: %s\n", strerror(errno));
    }
    SETUP_OR_DIE(dup2(sv[1], 11) == 11, "dup2: %s\n", strerror(errno));
    close(sv[1]);
  } else {
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    SETUP_OR_DIE(fd >= 0, "socket: %s\n", strerror(errno));
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    SETUP_OR_DIE(bind(fd, (struct sockaddr*)&address, sizeof address) == 0, "bind: %s\n", strerror(errno));
  }
  SETUP_OR_DIE(dup2(fd, FD_SOCKET) == FD_SOCKET, "dup2: %s\n", strerror(errno));
  close(fd);
  say("READY sockets %s\n", mode);
  wait_for_check();

  if (strcmp(mode, "halfshut") == 0 || strcmp(mode, "scm") == 0) {
    char byte;
    ssize_t n = recv(FD_SOCKET, &byte, 1, MSG_DONTWAIT);
    EXPECT_OR_FAIL(mode[0] == 'h' ? n == 0 : n == 1, "fd %d: recv gave %zd (%s)\n", FD_SOCKET, n, strerror(errno));
    finish();
  }
  int listening = 0;
  socklen_t size = sizeof listening;
  EXPECT_OR_FAIL(getsockopt(FD_SOCKET, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) == 0 && listening == listen_mode,
                 "fd %d: listening is %d, expected %d\n", FD_SOCKET, listening, listen_mode);
  if (listen_mode) {
    if (mode[0] == 'l') {
      // The connection that was waiting is still there for the taking.
      int first = accept(FD_SOCKET, NULL, NULL);
      EXPECT_OR_FAIL(first >= 0, "accept of the waiting connection: %s\n", strerror(errno));
    }
    int client = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_OR_FAIL(client >= 0 && connect(client, (struct sockaddr*)&unix_address, sizeof unix_address) == 0,
                   "connect to %s: %s\n", unix_address.sun_path, strerror(errno));
    int accepted = accept(FD_SOCKET, NULL, NULL);
    EXPECT_OR_FAIL(accepted >= 0, "accept: %s\n", strerror(errno));
    unlink(unix_address.sun_path);
  }
  finish();
}
