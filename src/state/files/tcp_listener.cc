#include "state/files/tcp_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/unique_fd.h"
#include "kernel/inet_diag.h"
#include "state/files/socket_options.h"

namespace cryo::state {

// Dump.

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

// Restore.

namespace {

std::string describe_address(const image::TcpListenerState& state) {
  char text[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (state.family() == AF_INET) {
    sockaddr_in address;
    std::memcpy(&address, state.address().data(), sizeof address);
    ::inet_ntop(AF_INET, &address.sin_addr, text, sizeof text);
    port = ntohs(address.sin_port);
    return std::string(text) + ":" + std::to_string(port);
  }
  sockaddr_in6 address;
  std::memcpy(&address, state.address().data(), sizeof address);
  ::inet_ntop(AF_INET6, &address.sin6_addr, text, sizeof text);
  port = ntohs(address.sin6_port);
  return "[" + std::string(text) + "]:" + std::to_string(port);
}

Result<> set_flag(int sock, int level, int option, bool on, const char* name) {
  int value = on ? 1 : 0;
  if (::setsockopt(sock, level, option, &value, sizeof value) != 0) return fail_errno(std::string("setsockopt(") + name + ")");
  return {};
}

// The backlog the kernel allows at most (net.core.somaxconn), for images that do not say theirs.
int largest_backlog() { return SOMAXCONN > 4096 ? SOMAXCONN : 4096; }

// listen() with the image's backlog, which must come out as it was: a host whose
// net.core.somaxconn is smaller caps it, and the listener would then refuse connections it queued.
Result<> listen_as_dumped(int sock, uint64_t ino, const image::TcpListenerState& state, const std::string& where) {
  int backlog = state.has_backlog() ? static_cast<int>(state.backlog()) : largest_backlog();
  if (::listen(sock, backlog) != 0) return fail(errno_error("listen").context(where));
  if (!state.has_backlog()) return {};
  ASSIGN_OR_RETURN_CTX(TcpListenerDiag diag, query_tcp_listener(state.family(), ino), where);
  if (!diag.listed || diag.backlog != state.backlog())
    return fail(make_error(where + ": listen(" + std::to_string(backlog) + ") gave a backlog of " + std::to_string(diag.backlog))
                    .with_hint("raise net.core.somaxconn to at least " + std::to_string(state.backlog())));
  return {};
}

}  // namespace

std::string tcp_port_in_use(const image::TcpListenerState& state) {
  // Bound, never listening, and closed at once: nothing can connect to it meanwhile. SO_REUSEADDR as
  // the restore sets it, so TIME_WAIT leftovers pass and only a socket bound there for real stops it.
  UniqueFd sock(::socket(state.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return "";
  int on = 1;
  (void)::setsockopt(sock.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  int reuseport = state.reuseport();
  (void)::setsockopt(sock.get(), SOL_SOCKET, SO_REUSEPORT, &reuseport, sizeof reuseport);
  if (state.family() == AF_INET6) {
    int v6only = state.v6only();
    (void)::setsockopt(sock.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  }
  if (::bind(sock.get(), reinterpret_cast<const sockaddr*>(state.address().data()), static_cast<socklen_t>(state.address().size())) == 0)
    return "";
  return describe_address(state) + ": " + std::strerror(errno);
}

Result<int> create_tcp_listener(const image::TcpListenerState& state) {
  std::string where = "TCP listener on " + describe_address(state);
  UniqueFd sock(::socket(state.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return fail(errno_error("socket").context(where));
  // The dumped tree's own connections may linger in TIME_WAIT on this port: rebinding must not
  // wait for them. The image's own setting is put back once bound.
  RETURN_IF_ERROR_CTX(set_flag(sock.get(), SOL_SOCKET, SO_REUSEADDR, true, "SO_REUSEADDR"), where);
  RETURN_IF_ERROR_CTX(set_flag(sock.get(), SOL_SOCKET, SO_REUSEPORT, state.reuseport(), "SO_REUSEPORT"), where);
  if (state.family() == AF_INET6) RETURN_IF_ERROR_CTX(set_flag(sock.get(), IPPROTO_IPV6, IPV6_V6ONLY, state.v6only(), "IPV6_V6ONLY"), where);
  if (::bind(sock.get(), reinterpret_cast<const sockaddr*>(state.address().data()), static_cast<socklen_t>(state.address().size())) != 0) {
    Error e = errno_error("bind").context(where);
    if (e.err == EADDRINUSE) e = e.with_hint("another process listens there (is the dumped tree still running?)");
    return fail(e);
  }
  struct stat st;
  if (::fstat(sock.get(), &st) != 0) return fail(errno_error("fstat").context(where));
  RETURN_IF_ERROR(listen_as_dumped(sock.get(), st.st_ino, state, where));
  RETURN_IF_ERROR_CTX(set_flag(sock.get(), SOL_SOCKET, SO_REUSEADDR, state.reuseaddr(), "SO_REUSEADDR"), where);
  RETURN_IF_ERROR_CTX(set_flag(sock.get(), IPPROTO_TCP, TCP_NODELAY, state.nodelay(), "TCP_NODELAY"), where);
  RETURN_IF_ERROR_CTX(set_flag(sock.get(), SOL_SOCKET, SO_KEEPALIVE, state.keepalive(), "SO_KEEPALIVE"), where);
  RETURN_IF_ERROR_CTX(restore_socket_options(sock.get(), state.family(), state.options()), where);
  // Close-on-exec is the fd's, set by each holder.
  return sock.release();
}

Result<> stage_tcp_listeners(const ImageSet& set, int min_fd, StagedFds& staged) {
  return stage_each_socket_once(
      set, image::FD_TCP_LISTENER, [](const image::Fd& fd) { return fd.tcp_listener().socket_id(); },
      [](const image::Fd& fd) { return create_tcp_listener(fd.tcp_listener()); }, min_fd, staged);
}

}  // namespace cryo::state
