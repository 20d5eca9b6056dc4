#include "restore/unix_listeners.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "image/unix_socket_name.h"
#include "kernel/unix_diag.h"

namespace cryo::restore {
namespace {

struct UnixAddress {
  sockaddr_un address{};
  socklen_t length = 0;
};

// Validation keeps names within sun_path (108 bytes; an abstract name's leading NUL is one of them).
UnixAddress address_of(const image::UnixSocketState& s) {
  UnixAddress a;
  a.address.sun_family = AF_UNIX;
  size_t at = s.abstract() ? 1 : 0;
  std::memcpy(a.address.sun_path + at, s.name().data(), s.name().size());
  size_t used = at + s.name().size();
  // A path's length counts its terminating NUL when it fits; the kernel measures the path itself.
  if (!s.abstract() && used < sizeof a.address.sun_path) ++used;
  a.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + used);
  return a;
}

// What is at a listener's path now: nothing (""), or why it cannot be bound. `stale` is set when a
// socket file is there that nobody answers on: a leftover of the dumped tree, safe to unlink.
std::string path_obstacle(const image::UnixSocketState& s, bool* stale) {
  *stale = false;
  struct stat st;
  if (::lstat(s.name().c_str(), &st) != 0)
    return errno == ENOENT ? "" : s.name() + ": lstat: " + std::strerror(errno);
  if (!S_ISSOCK(st.st_mode)) return s.name() + " exists and is not a socket file";
  UniqueFd probe(::socket(AF_UNIX, s.type() | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!probe.valid()) return s.name() + ": socket: " + std::strerror(errno);
  UnixAddress a = address_of(s);
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&a.address), a.length) != 0 && errno == ECONNREFUSED) {
    *stale = true;
    return "";
  }
  // Connected, queue full (EAGAIN), another socket type (EPROTOTYPE): someone is bound there.
  return s.name() + ": a live socket answers there (is the dumped tree, or a restored copy of it, still running?)";
}

Result<> clear_path(const image::UnixSocketState& s) {
  bool stale = false;
  std::string obstacle = path_obstacle(s, &stale);
  if (!obstacle.empty()) return fail(make_error("unix listener on " + obstacle));
  if (stale && ::unlink(s.name().c_str()) != 0 && errno != ENOENT) return fail_errno("unlink(" + s.name() + ")");
  return {};
}

Result<UnixSocketDiag> diag_of(int sock) {
  struct stat st;
  if (::fstat(sock, &st) != 0) return fail_errno("fstat");
  return query_unix_socket(st.st_ino);
}

// The new socket's own file is the one at its path.
Result<bool> owns_path(int sock, const image::UnixSocketState& s) {
  ASSIGN_OR_RETURN(UnixSocketDiag diag, diag_of(sock));
  struct stat st;
  if (::lstat(s.name().c_str(), &st) != 0) return fail_errno("lstat(" + s.name() + ")");
  return diag.vfs_ino && *diag.vfs_ino == st.st_ino && diag.vfs_dev == st.st_dev;
}

}  // namespace

std::string unix_name_in_use(const image::UnixSocketState& listener) {
  if (!listener.abstract()) {
    bool stale = false;
    return path_obstacle(listener, &stale);
  }
  // Bound and closed at once: an abstract name leaves nothing behind.
  UniqueFd probe(::socket(AF_UNIX, listener.type() | SOCK_CLOEXEC, 0));
  if (!probe.valid()) return "";
  UnixAddress a = address_of(listener);
  if (::bind(probe.get(), reinterpret_cast<const sockaddr*>(&a.address), a.length) == 0) return "";
  return image::shown_unix_name(listener) + ": " + std::strerror(errno) +
         (errno == EADDRINUSE ? " (abstract names are per network namespace, and the tree shares the host's)" : "");
}

Result<> bind_unix_socket(int sock, const image::UnixSocketState& s, const std::string& where) {
  if (!s.abstract()) RETURN_IF_ERROR(clear_path(s));
  UnixAddress a = address_of(s);
  if (::bind(sock, reinterpret_cast<const sockaddr*>(&a.address), a.length) != 0) {
    Error e = errno_error("bind").context(where);
    if (e.err == EADDRINUSE && s.abstract())
      e = e.with_hint("abstract names are per network namespace, which the tree shares with the host: is the dumped tree, or a restored copy of it, still running?");
    return fail(e);
  }
  if (!s.abstract() && !s.file_unlinked()) {
    // bind made the file with cryo's umask; nobody can connect before listen (a datagram
    // receiver: before the tree runs, so nobody sends to it yet).
    if (::lchown(s.name().c_str(), s.file_uid(), s.file_gid()) != 0) return fail(errno_error("lchown(" + s.name() + ")").context(where));
    if (::chmod(s.name().c_str(), s.file_mode()) != 0) return fail(errno_error("chmod(" + s.name() + ")").context(where));
  }
  return {};
}

Result<> connect_unix_socket(int sock, const image::UnixSocketState& peer) {
  UnixAddress a = address_of(peer);
  if (::connect(sock, reinterpret_cast<const sockaddr*>(&a.address), a.length) != 0)
    return fail(errno_error("connect(" + image::shown_unix_name(peer) + ")"));
  return {};
}

Result<size_t> send_unix_to(int sock, const std::string& data, const image::UnixSocketState& receiver) {
  UnixAddress a = address_of(receiver);
  ssize_t n = ::sendto(sock, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&a.address), a.length);
  if (n < 0) return fail(errno_error("sendto(" + image::shown_unix_name(receiver) + ", " + std::to_string(data.size()) + " bytes)"));
  return static_cast<size_t>(n);
}

Result<UniqueFd> create_unix_listener(const image::UnixSocketState& s) {
  std::string where = "unix listener on " + image::shown_unix_name(s);
  UniqueFd sock(::socket(AF_UNIX, s.type() | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return fail(errno_error("socket(AF_UNIX, " + std::to_string(s.type()) + ")").context(where));
  RETURN_IF_ERROR(bind_unix_socket(sock.get(), s, where));
  if (::listen(sock.get(), static_cast<int>(s.backlog())) != 0) return fail(errno_error("listen").context(where));
  // listen() caps the backlog at this host's net.core.somaxconn: the result must be the dumped one.
  ASSIGN_OR_RETURN_CTX(UnixSocketDiag diag, diag_of(sock.get()), where);
  if (diag.wqueue != s.backlog())
    return fail(make_error(where + ": listen(" + std::to_string(s.backlog()) + ") gave a backlog of " + std::to_string(diag.wqueue))
                    .with_hint("raise net.core.somaxconn to at least " + std::to_string(s.backlog())));
  return sock;
}

Result<std::pair<UniqueFd, UniqueFd>> connect_and_accept(int listener, const image::UnixSocketState& s) {
  std::string where = "connection to the unix listener on " + image::shown_unix_name(s);
  UniqueFd client(::socket(AF_UNIX, s.type() | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!client.valid()) return fail(errno_error("socket").context(where));
  UnixAddress a = address_of(s);
  // Non-blocking: a full accept queue fails here instead of waiting; each connection is accepted
  // before the next is made.
  if (::connect(client.get(), reinterpret_cast<const sockaddr*>(&a.address), a.length) != 0)
    return fail(errno_error("connect").context(where));
  pollfd ready{listener, POLLIN, 0};
  if (::poll(&ready, 1, 0) != 1) return fail(make_error(where + ": the listener has no connection to accept"));
  UniqueFd accepted(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!accepted.valid()) return fail(errno_error("accept4").context(where));
  return std::make_pair(std::move(client), std::move(accepted));
}

Result<> unlink_if_dumped_unlinked(int listener, const image::UnixSocketState& s) {
  if (s.abstract() || !s.file_unlinked()) return {};
  std::string where = std::string(s.listening() ? "unix listener" : "unix socket") + " on " + s.name();
  ASSIGN_OR_RETURN_CTX(bool own, owns_path(listener, s), where);
  if (!own) return fail(make_error(where + ": the file at its path is no longer its own"));
  if (::unlink(s.name().c_str()) != 0) return fail(errno_error("unlink").context(where));
  return {};
}

}  // namespace cryo::restore
