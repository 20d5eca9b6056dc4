#include "restore/tcp_listeners.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/unique_fd.h"
#include "kernel/inet_diag.h"
#include "state/files/socket_options.h"

namespace cryo::restore {
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

}  // namespace cryo::restore
