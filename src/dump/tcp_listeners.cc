#include "dump/tcp_listeners.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include "kernel/inet_diag.h"
#include "state/files/socket_options.h"

namespace cryo::dump {
namespace {

// An on/off socket option; a getsockopt that fails is an error, not an option that is off.
Result<bool> flag_option(int sock, int level, int option, const char* name) {
  int value = 0;
  socklen_t size = sizeof value;
  if (::getsockopt(sock, level, option, &value, &size) != 0) return fail(errno_error(std::string("getsockopt(") + name + ")"));
  return value != 0;
}

}  // namespace

Result<> collect_tcp_listener(int sock, int fd, const std::string& target, uint64_t ino, image::Fd& out) {
  std::string what = "fd " + std::to_string(fd) + " (" + target + ")";
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(sock, reinterpret_cast<sockaddr*>(&address), &length) != 0) return fail(errno_error("getsockname").context(what));
  // A listening socket is readable while a connection waits in its accept queue.
  pollfd ready{sock, POLLIN, 0};
  if (::poll(&ready, 1, 0) > 0)
    return fail(make_error(what + " is a listening TCP socket with connections waiting to be accepted, which cryo cannot dump")
                    .with_hint("dump when the accept queue is empty; those connections would be lost"));
  out.set_kind(image::FD_TCP_LISTENER);
  out.mutable_identity()->set_ino(ino);
  auto* state = out.mutable_tcp_listener();
  state->set_socket_id(ino);
  state->set_family(address.ss_family);
  state->set_address(std::string(reinterpret_cast<const char*>(&address), length));
  ASSIGN_OR_RETURN_CTX(bool reuseaddr, flag_option(sock, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR"), what);
  ASSIGN_OR_RETURN_CTX(bool reuseport, flag_option(sock, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT"), what);
  ASSIGN_OR_RETURN_CTX(bool nodelay, flag_option(sock, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY"), what);
  ASSIGN_OR_RETURN_CTX(bool keepalive, flag_option(sock, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE"), what);
  state->set_reuseaddr(reuseaddr);
  state->set_reuseport(reuseport);
  if (address.ss_family == AF_INET6) {
    ASSIGN_OR_RETURN_CTX(bool v6only, flag_option(sock, IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY"), what);
    state->set_v6only(v6only);
  }
  state->set_nodelay(nodelay);
  state->set_keepalive(keepalive);
  RETURN_IF_ERROR_CTX(collect_socket_options(sock, address.ss_family, state->mutable_options()), what);
  // A backlog of 1 (a server that wants connections refused, not queued, while it is busy) behaves
  // otherwise than the largest.
  ASSIGN_OR_RETURN_CTX(TcpListenerDiag diag, query_tcp_listener(address.ss_family, ino), what);
  if (!diag.listed) return fail(what + ": sock_diag does not list it among the TCP listeners");
  state->set_backlog(diag.backlog);
  return {};
}

}  // namespace cryo::dump
