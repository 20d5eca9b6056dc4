#include "dump/tcp_listeners.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

namespace cryo::dump {
namespace {

bool flag_option(int sock, int level, int option) {
  int value = 0;
  socklen_t size = sizeof value;
  return ::getsockopt(sock, level, option, &value, &size) == 0 && value != 0;
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
  state->set_reuseaddr(flag_option(sock, SOL_SOCKET, SO_REUSEADDR));
  state->set_reuseport(flag_option(sock, SOL_SOCKET, SO_REUSEPORT));
  if (address.ss_family == AF_INET6) state->set_v6only(flag_option(sock, IPPROTO_IPV6, IPV6_V6ONLY));
  state->set_nodelay(flag_option(sock, IPPROTO_TCP, TCP_NODELAY));
  state->set_keepalive(flag_option(sock, SOL_SOCKET, SO_KEEPALIVE));
  return {};
}

}  // namespace cryo::dump
