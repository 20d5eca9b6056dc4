#include "dump/unix_sockets.h"

#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "base/unique_fd.h"
#include "dump/inet_sockets.h"
#include "dump/unix_datagrams.h"
#include "image/unix_socket_name.h"
#include "kernel/unix_diag.h"
#include "state/files/netlink_socket.h"
#include "state/files/socket_options.h"
#include "state/files/tcp_listener.h"

namespace cryo::dump {
namespace {

// Bounds, far above what a socket can queue with default limits (net.unix.max_dgram_qlen is 512,
// the buffers about 200 KiB), so a peek loop always ends.
constexpr size_t kMaxQueuedMessages = 1 << 16;
constexpr size_t kMaxDatagram = 8 << 20;
constexpr uint8_t kShutdownBoth = 3;  // RCV_SHUTDOWN | SEND_SHUTDOWN

const char* family_name(int family) {
  switch (family) {
    case AF_UNIX: return "AF_UNIX";
    case AF_INET: return "AF_INET";
    case AF_INET6: return "AF_INET6";
    case AF_NETLINK: return "AF_NETLINK";
    case AF_PACKET: return "AF_PACKET";
    default: return nullptr;
  }
}

const char* type_name(int type) {
  switch (type) {
    case SOCK_STREAM: return "SOCK_STREAM";
    case SOCK_DGRAM: return "SOCK_DGRAM";
    case SOCK_SEQPACKET: return "SOCK_SEQPACKET";
    case SOCK_RAW: return "SOCK_RAW";
    default: return nullptr;
  }
}

struct SocketFacts {
  int family = -1;
  int type = -1;
  bool listening = false;
};

int int_option(int fd, int option) {
  int value = -1;
  socklen_t size = sizeof value;
  if (::getsockopt(fd, SOL_SOCKET, option, &value, &size) != 0) return -1;
  return value;
}

// "a listening AF_UNIX SOCK_STREAM socket", "an AF_INET SOCK_DGRAM socket".
std::string describe(const SocketFacts& s) {
  // Every family name ("AF_NETLINK") is read with a vowel first; "family 16" is not.
  std::string text = s.listening ? "a listening " : family_name(s.family) ? "an " : "a ";
  const char* f = family_name(s.family);
  const char* t = type_name(s.type);
  text += f ? f : "family " + std::to_string(s.family);
  text += " ";
  text += t ? t : "type " + std::to_string(s.type);
  return text + " socket";
}

Error refused(int fd, const std::string& target, const std::string& what) {
  return make_error("fd " + std::to_string(fd) + " (" + target + ") is " + what + ", which cryo cannot dump yet");
}

// A copy of the tracee's socket (pidfd_getfd: the same open file, so the same socket).
Result<UniqueFd> socket_copy(pid_t pid, int fd) {
  std::string who = "pid " + std::to_string(pid) + " fd " + std::to_string(fd);
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) return fail_errno(who + ": pidfd_open");
  UniqueFd copy(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
  if (!copy.valid()) return fail_errno(who + ": pidfd_getfd");
  return copy;
}

Result<size_t> queued_bytes(int sock) {
  int queued = 0;
  if (::ioctl(sock, SIOCINQ, &queued) != 0) return fail_errno("ioctl(SIOCINQ)");
  return static_cast<size_t>(queued);
}

// SIOCINQ's count and the bytes a peek reads disagree (seen on Linux 6.18 with stress-ng sockpair).
Error queue_count_disagrees(size_t peeked, size_t counted, const std::string& where) {
  return make_error("a peek read " + std::to_string(peeked) + " queued bytes" + where + " where the kernel counts " +
                    std::to_string(counted) + " (SIOCINQ): cryo does not know which is the socket's data, so it dumps neither");
}

// Copies what is queued to the socket without consuming it. MSG_PEEK alone always starts at the head;
// SO_PEEK_OFF makes each peek continue where the last one ended (datagram by datagram for DGRAM and
// SEQPACKET, bytes for STREAM). Each datagram's sender comes with it, as recvfrom names it. The offset is the socket's own, shared with the tracee: it is put
// back as it was. MSG_DONTWAIT instead of O_NONBLOCK, whose flag the tracee's file shares.
//
// An end whose peer closed is read only up to the bytes SIOCINQ counts (for stream and seqpacket
// sockets, every queued byte): a recv on its empty queue would return, and so consume, the
// ECONNRESET the kernel may hold for it, and a seqpacket end peeks 0 at its end as for a zero-length
// record (trailing zero-length records, which the process cannot tell from the end either, are
// not copied).
Result<> peek_queue(int sock, int type, bool peer_closed, image::UnixSocketState& state) {
  size_t known_total = 0;
  if (peer_closed) {
    ASSIGN_OR_RETURN(known_total, queued_bytes(sock));
  }
  int original = int_option(sock, SO_PEEK_OFF);
  int zero = 0;
  if (::setsockopt(sock, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof zero) != 0) return fail_errno("setsockopt(SO_PEEK_OFF, 0)");
  std::string buffer(type == SOCK_STREAM ? 1 << 16 : kMaxDatagram, '\0');
  std::string stream;
  size_t copied = 0;
  Result<> result;
  for (size_t count = 0;; ++count) {
    if (peer_closed && copied >= known_total) break;
    if (count > kMaxQueuedMessages) {
      result = fail("more than " + std::to_string(kMaxQueuedMessages) + " messages queued");
      break;
    }
    sockaddr_un from{};
    iovec iov{buffer.data(), buffer.size()};
    msghdr message{};
    message.msg_name = &from;
    message.msg_namelen = sizeof from;
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    ssize_t got = ::recvmsg(sock, &message, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && errno == EAGAIN) break;
    if (got < 0 && errno == ECONNRESET && peer_closed) {
      // The peer's reset, which the kernel returns once the queue is empty: SIOCINQ counted more.
      result = fail(queue_count_disagrees(copied, known_total, " before the peer's reset"));
      break;
    }
    if (got < 0) {
      result = fail_errno("recv(MSG_PEEK)");
      break;
    }
    if (type == SOCK_STREAM) {
      if (got == 0) break;  // End of stream: the peer shut down (refused earlier) or closed.
      stream.append(buffer.data(), static_cast<size_t>(got));
      copied += static_cast<size_t>(got);
      continue;
    }
    if (static_cast<size_t>(got) > buffer.size()) {
      result = fail("a queued datagram of " + std::to_string(got) + " bytes is larger than cryo copies");
      break;
    }
    state.add_queue(buffer.data(), static_cast<size_t>(got));
    if (type == SOCK_DGRAM) *state.add_senders() = datagram_sender(from, message.msg_namelen);
    copied += static_cast<size_t>(got);
  }
  ::setsockopt(sock, SOL_SOCKET, SO_PEEK_OFF, &original, sizeof original);
  RETURN_IF_ERROR(result);
  if (type == SOCK_STREAM) {
    // SIOCINQ counts every queued byte of a stream socket: the copy must have all of them.
    ASSIGN_OR_RETURN(size_t queued, queued_bytes(sock));
    if (queued != stream.size())
      return fail(queue_count_disagrees(stream.size(), queued, ""));
    if (!stream.empty()) state.add_queue(std::move(stream));
  }
  return {};
}



// The bound name, and for a path what restore needs to make its file again: the file's mode and
// owner, or that the file was unlinked after bind (the socket's own file, from sock_diag, is no
// longer the one at its path).
Result<> collect_name(pid_t pid, int fd, const std::string& target, const std::string& kind, const UnixSocketDiag& diag,
                      image::UnixSocketState& state) {
  const std::string& raw = *diag.name;
  if (!raw.empty() && raw[0] == '\0') {
    state.set_abstract(true);
    state.set_name(raw.substr(1));
    return {};
  }
  // sock_diag gives the path with its terminating NUL.
  std::string path = raw.substr(0, raw.find('\0'));
  state.set_name(path);
  std::string bound = kind + " bound to '" + path + "'";
  // A relative name was resolved against the binder's working directory at bind, which cryo does
  // not know; a path inside a chroot is not the host's path.
  if (path.empty() || path[0] != '/') return fail(refused(fd, target, bound + ", a relative path").with_hint("bind to an absolute path"));
  std::string root_link = "/proc/" + std::to_string(pid) + "/root";
  char root[8] = {};
  if (::readlink(root_link.c_str(), root, sizeof root) != 1 || root[0] != '/')
    return fail(refused(fd, target, bound + " in a process whose root directory is not /"));
  if (!diag.vfs_ino) return fail(refused(fd, target, bound + " without a socket file"));
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT && errno != ENOTDIR) return fail_errno("fd " + std::to_string(fd) + ": lstat(" + path + ")");
    state.set_file_unlinked(true);
    return {};
  }
  if (st.st_ino != *diag.vfs_ino || st.st_dev != diag.vfs_dev) {
    state.set_file_unlinked(true);
    return {};
  }
  state.set_file_mode(st.st_mode & 07777);
  state.set_file_uid(st.st_uid);
  state.set_file_gid(st.st_gid);
  return {};
}

}  // namespace

Result<> collect_socket(pid_t pid, int fd, const std::string& target, uint64_t ino, const FdInfo& info, image::Fd& out) {
  ASSIGN_OR_RETURN(UniqueFd sock, socket_copy(pid, fd));
  SocketFacts facts;
  facts.family = int_option(sock.get(), SO_DOMAIN);
  facts.type = int_option(sock.get(), SO_TYPE);
  facts.listening = int_option(sock.get(), SO_ACCEPTCONN) == 1;
  std::string kind = describe(facts);
  if ((facts.family == AF_INET || facts.family == AF_INET6) && facts.type == SOCK_STREAM && facts.listening)
    return state::collect_tcp_listener(sock.get(), fd, target, ino, out);
  if (facts.family == AF_NETLINK) return state::collect_netlink_socket(pid, sock.get(), fd, target, ino, out);
  if (facts.family != AF_UNIX || (facts.type != SOCK_STREAM && facts.type != SOCK_DGRAM && facts.type != SOCK_SEQPACKET))
    return fail(refused(fd, target, kind + describe_inet_endpoints(sock.get(), facts.family, facts.type)));
  ASSIGN_OR_RETURN(UnixSocketDiag diag, query_unix_socket(ino));
  if (info.scm_fds && *info.scm_fds != 0)
    return fail(refused(fd, target, kind + " with " + std::to_string(*info.scm_fds) + " fds in flight (SCM_RIGHTS)"));
  image::UnixSocketState state;
  state.set_socket_id(ino);
  state.set_type(facts.type);
  if (diag.name) {
    RETURN_IF_ERROR(collect_name(pid, fd, target, kind, diag, state));
    kind += " bound to '" + image::shown_unix_name(state) + "'";
    // SO_PASSCRED makes every message carry credentials and an unbound sender autobind; restore
    // does not set it again.
    if (int_option(sock.get(), SO_PASSCRED) == 1) return fail(refused(fd, target, kind + " with SO_PASSCRED set"));
  }
  RETURN_IF_ERROR_CTX(collect_socket_options(sock.get(), AF_UNIX, state.mutable_options()), "fd " + std::to_string(fd) + " (" + target + ")");
  auto keep = [&]() -> Result<> {
    out.set_kind(image::FD_UNIX_SOCKET);
    out.mutable_identity()->set_ino(ino);
    *out.mutable_unix_socket() = std::move(state);
    return {};
  };
  if (facts.listening) {
    // A connection waiting in the accept queue has its client's data queued and, if the client is
    // outside the tree, an end cryo cannot make again.
    if (diag.rqueue != 0)
      return fail(refused(fd, target, kind + " with " + std::to_string(diag.rqueue) + " connections waiting to be accepted")
                      .with_hint("dump when the accept queue is empty; those connections would be lost"));
    if (diag.shutdown != 0) return fail(refused(fd, target, kind + " that is shut down"));
    state.set_listening(true);
    state.set_backlog(diag.wqueue);
    return keep();
  }
  // Datagram sockets: bound or not, connected or not (unix_datagrams.h checks their peers and
  // senders once every process is read).
  if (facts.type == SOCK_DGRAM) {
    RETURN_IF_ERROR(collect_datagram_socket(sock.get(), fd, target, kind, diag, state));
    RETURN_IF_ERROR_CTX(peek_queue(sock.get(), facts.type, false, state), "fd " + std::to_string(fd) + " (" + target + "): queued datagrams");
    // The first peek at a zero-length datagram marks it peeked, and a peek at an offset steps over
    // a peeked one: the dump's second pass (or a second dump) would not see it, and lose it.
    for (const auto& datagram : state.queue())
      if (datagram.empty()) return fail(refused(fd, target, kind + " with a zero-length datagram queued"));
    return keep();
  }
  // Connected ends that carry a name: an accepted connection, matched with its listener by
  // check_socket_pairs, or a client that bound before connecting.
  // A stream or seqpacket end whose peer closed: the kernel shuts it down both ways and its peer
  // (a released socket) has no inode any more.
  bool peer_closed = diag.peer_ino == 0 && diag.shutdown == kShutdownBoth && facts.type != SOCK_DGRAM;
  if (diag.peer_ino == 0 && !peer_closed) return fail(refused(fd, target, kind + " without a peer"));
  if (diag.shutdown != 0 && !peer_closed) return fail(refused(fd, target, kind + " that is shut down"));
  if (peer_closed && diag.name) return fail(refused(fd, target, kind + " whose peer closed"));
  state.set_peer_id(diag.peer_ino);
  if (peer_closed) {
    state.set_peer_closed(true);
    // The pending ECONNRESET shows in poll; reading SO_ERROR would consume it from the tree's socket.
    pollfd p{sock.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) < 0) return fail_errno("fd " + std::to_string(fd) + ": poll");
    state.set_peer_reset(p.revents & POLLERR);
  }
  RETURN_IF_ERROR_CTX(peek_queue(sock.get(), facts.type, peer_closed, state), "fd " + std::to_string(fd) + " (" + target + "): queued data");
  return keep();
}

namespace {

// The listener an accepted connection came from: the one of the same kind with the same name (and,
// for a path, the same socket file: both still named by the path, or both unlinked). Two unlinked
// listeners of one path cannot be told apart.
Result<const image::UnixSocketState*> listener_of(const image::UnixSocketState& s, const std::vector<const image::UnixSocketState*>& listeners) {
  const image::UnixSocketState* found = nullptr;
  for (const auto* l : listeners) {
    if (l->type() != s.type() || l->name() != s.name() || l->abstract() != s.abstract() || l->file_unlinked() != s.file_unlinked()) continue;
    if (found && found->socket_id() != l->socket_id()) return fail(" accepted from one of several listeners bound to that name");
    found = l;
  }
  if (!found) return fail(", and no process of the tree holds a listener it could have been accepted from");
  return found;
}

}  // namespace

Result<> check_socket_pairs(std::map<pid_t, image::ProcessFiles>& files) {
  RETURN_IF_ERROR(check_datagram_sockets(files));
  std::map<uint64_t, const image::UnixSocketState*> sockets;
  std::vector<const image::UnixSocketState*> listeners;
  for (const auto& [pid, process] : files)
    for (const auto& fd : process.fds())
      if (fd.kind() == image::FD_UNIX_SOCKET) {
        sockets[fd.unix_socket().socket_id()] = &fd.unix_socket();
        if (fd.unix_socket().listening()) listeners.push_back(&fd.unix_socket());
      }
  // Connected ends with a name: accepted connections, each tied to its listener. Every holder's
  // copy of a socket gets the same answer.
  std::map<uint64_t, uint64_t> accepted_from;
  for (const auto& [pid, process] : files)
    for (const auto& fd : process.fds()) {
      const auto& s = fd.unix_socket();
      if (fd.kind() != image::FD_UNIX_SOCKET || s.listening() || s.type() == SOCK_DGRAM || (s.name().empty() && !s.abstract())) continue;
      SocketFacts facts{AF_UNIX, s.type(), false};
      std::string target = "socket:[" + std::to_string(s.socket_id()) + "]";
      std::string what = describe(facts) + " bound to '" + image::shown_unix_name(s) + "'";
      auto listener = listener_of(s, listeners);
      if (!listener) return fail(refused(fd.fd(), target, what + listener.error().message).context("pid " + std::to_string(pid)));
      auto peer = sockets.find(s.peer_id());
      if (peer != sockets.end() && (!peer->second->name().empty() || peer->second->abstract()))
        return fail(refused(fd.fd(), target, what + " connected to a socket bound to '" + image::shown_unix_name(*peer->second) + "'")
                        .context("pid " + std::to_string(pid)));
      accepted_from[s.socket_id()] = (*listener)->socket_id();
    }
  for (auto& [pid, process] : files)
    for (auto& fd : *process.mutable_fds()) {
      if (fd.kind() != image::FD_UNIX_SOCKET) continue;
      auto from = accepted_from.find(fd.unix_socket().socket_id());
      if (from == accepted_from.end()) continue;
      auto* s = fd.mutable_unix_socket();
      s->set_listener_id(from->second);
      // The file belongs to the listener; restore makes it once, with the listener.
      s->clear_file_mode();
      s->clear_file_uid();
      s->clear_file_gid();
    }
  for (const auto& [pid, process] : files)
    for (const auto& fd : process.fds()) {
      if (fd.kind() != image::FD_UNIX_SOCKET || fd.unix_socket().peer_closed() || fd.unix_socket().listening() ||
          fd.unix_socket().type() == SOCK_DGRAM)
        continue;
      const auto& s = fd.unix_socket();
      auto peer = sockets.find(s.peer_id());
      if (peer != sockets.end() && peer->second->peer_id() == s.socket_id()) continue;
      SocketFacts facts{AF_UNIX, s.type(), false};
      std::string target = "socket:[" + std::to_string(s.socket_id()) + "]";
      std::string why = peer == sockets.end() ? " connected to socket " + std::to_string(s.peer_id()) + ", which no process of the tree holds"
                                              : " connected to socket " + std::to_string(s.peer_id()) + ", which is connected elsewhere";
      return fail(refused(fd.fd(), target, describe(facts) + why).context("pid " + std::to_string(pid)));
    }
  return {};
}

}  // namespace cryo::dump
