#include "dump/unix_datagrams.h"

#include <algorithm>
#include <cstddef>
#include <fstream>
#include <set>
#include <utility>
#include <vector>

#include "image/unix_socket_name.h"

namespace cryo::dump {
namespace {

// Not in every libc's headers yet (Linux 6.5).
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif

int int_option(int sock, int option) {
  int value = -1;
  socklen_t size = sizeof value;
  if (::getsockopt(sock, SOL_SOCKET, option, &value, &size) != 0) return -1;
  return value;
}

// A new socket's buffers are net.core.wmem_default and rmem_default (sock_init_data), taken as they
// are, not doubled as setsockopt doubles its argument.
long sysctl_value(const char* path) {
  std::ifstream in(path);
  long value = -1;
  in >> value;
  return in ? value : -1;
}

Error refused(int fd, const std::string& target, const std::string& what) {
  return make_error("fd " + std::to_string(fd) + " (" + target + ") is " + what + ", which cryo cannot dump yet");
}

bool named(const image::UnixSocketState& s) { return s.abstract() || !s.name().empty(); }


std::string describe(const image::UnixSocketState& s) {
  std::string text = "an AF_UNIX SOCK_DGRAM socket";
  if (named(s)) text += " bound to '" + image::shown_unix_name(s) + "'";
  return text;
}

std::string key_of(bool abstract, const std::string& name) { return (abstract ? "@" : "/") + name; }

// "/dev/log", "@name", or "socket N" for a peer outside the tree that has no name.
std::string outside_peer(uint64_t ino) {
  auto diag = query_unix_socket(ino);
  if (!diag || !diag->name || diag->name->empty()) return "socket " + std::to_string(ino);
  const std::string& raw = *diag->name;
  image::UnixSocketState s;
  if (raw[0] == '\0') {
    s.set_abstract(true);
    s.set_name(raw.substr(1));
  } else {
    s.set_name(raw.substr(0, raw.find('\0')));
  }
  return image::shown_unix_name(s);
}

// What restore does with a socket and its peer, the same rule as restore/unix_datagrams.cc: ends
// that point at each other, one of them without a name, are a socketpair (its ends may have been
// bound later); every other connection is made by connect() to the peer's name.
bool is_pair(const image::UnixSocketState& s, const image::UnixSocketState* peer) {
  return peer && peer->peer_id() == s.socket_id() && peer->socket_id() != s.socket_id() && (!named(s) || !named(*peer));
}

}  // namespace

image::UnixSocketState::Sender datagram_sender(const sockaddr_un& address, socklen_t length) {
  image::UnixSocketState::Sender sender;
  if (length <= offsetof(sockaddr_un, sun_path)) return sender;
  size_t size = std::min<size_t>(length - offsetof(sockaddr_un, sun_path), sizeof address.sun_path);
  std::string raw(address.sun_path, size);
  if (raw[0] == '\0') {
    sender.set_abstract(true);
    sender.set_name(raw.substr(1));
  } else {
    sender.set_name(raw.substr(0, raw.find('\0')));
  }
  return sender;
}

Result<> collect_datagram_socket(int sock, int fd, const std::string& target, const std::string& kind, const UnixSocketDiag& diag,
                                 image::UnixSocketState& state) {
  // Each would make every datagram carry what restore cannot give back (the sender's credentials,
  // pidfd or security label), and SO_PASSCRED makes an unbound socket bind itself on connect or send.
  for (auto [option, name] : {std::pair{SO_PASSCRED, "SO_PASSCRED"}, std::pair{SO_PASSPIDFD, "SO_PASSPIDFD"}, std::pair{SO_PASSSEC, "SO_PASSSEC"}})
    if (int_option(sock, option) == 1) return fail(refused(fd, target, kind + " with " + name + " set"));
  if (diag.shutdown != 0) return fail(refused(fd, target, kind + " that is shut down"));
  // A receiver that closed stays the sender's peer until the sender's next send fails with
  // ECONNREFUSED; restore cannot make a socket connected to a closed one.
  if (diag.peer_present && diag.peer_ino == 0) return fail(refused(fd, target, kind + " connected to a socket that was closed since"));
  state.set_peer_id(diag.peer_ino);
  int sndbuf = int_option(sock, SO_SNDBUF);
  int rcvbuf = int_option(sock, SO_RCVBUF);
  if (sndbuf < 0 || rcvbuf < 0) return fail_errno("fd " + std::to_string(fd) + ": getsockopt(SO_SNDBUF, SO_RCVBUF)");
  if (sndbuf != sysctl_value("/proc/sys/net/core/wmem_default")) state.set_sndbuf(static_cast<uint32_t>(sndbuf));
  if (rcvbuf != sysctl_value("/proc/sys/net/core/rmem_default")) state.set_rcvbuf(static_cast<uint32_t>(rcvbuf));
  return {};
}

Result<> check_datagram_sockets(const std::map<pid_t, image::ProcessFiles>& files) {
  std::map<uint64_t, const image::UnixSocketState*> sockets;
  std::map<std::string, std::set<uint64_t>> by_name;  // Named datagram sockets and listeners.
  for (const auto& [pid, process] : files)
    for (const auto& fd : process.fds()) {
      if (fd.kind() != image::FD_UNIX_SOCKET) continue;
      const auto& s = fd.unix_socket();
      sockets[s.socket_id()] = &s;
      if (named(s) && (s.type() == SOCK_DGRAM || s.listening())) by_name[key_of(s.abstract(), s.name())].insert(s.socket_id());
    }
  for (const auto& [pid, process] : files)
    for (const auto& fd : process.fds()) {
      const auto& s = fd.unix_socket();
      if (fd.kind() != image::FD_UNIX_SOCKET || s.type() != SOCK_DGRAM) continue;
      std::string target = "socket:[" + std::to_string(s.socket_id()) + "]";
      std::string what = describe(s);
      auto refuse = [&](const std::string& why) { return fail(refused(fd.fd(), target, what + why).context("pid " + std::to_string(pid))); };
      // Restore binds every name once: two sockets of one name (one's file unlinked) cannot both be.
      if (named(s) && by_name[key_of(s.abstract(), s.name())].size() > 1) return refuse(", a name another socket of the tree is bound to as well");
      const image::UnixSocketState* peer = nullptr;
      if (s.peer_id() != 0) {
        auto found = sockets.find(s.peer_id());
        if (found == sockets.end()) return refuse(" connected to " + outside_peer(s.peer_id()) + " outside the tree");
        peer = found->second;
        if (peer->type() != SOCK_DGRAM) return refuse(" connected to a socket of another type");
        if (!is_pair(s, peer) && !named(*peer))
          return refuse(" connected to socket " + std::to_string(s.peer_id()) + ", which has no name and is connected elsewhere");
      }
      bool pair = is_pair(s, peer);
      if (!named(s) && !pair && s.queue_size() != 0)
        return refuse(" with " + std::to_string(s.queue_size()) + " datagrams queued but neither a name nor a socketpair peer to send them");
      for (int i = 0; i < s.senders_size(); ++i) {
        const auto& sender = s.senders(i);
        std::string from = sender.abstract() || !sender.name().empty() ? "'" + image::shown_unix_name(sender) + "'" : "an unbound socket";
        if (pair) {
          // Only the other end can send to a socketpair end, and the kernel names the sender by
          // its current name.
          if (sender.abstract() != peer->abstract() || sender.name() != peer->name())
            return refuse(" with a datagram queued from " + from + ", which is not its socketpair peer");
          continue;
        }
        if (!sender.abstract() && sender.name().empty()) continue;  // Restore sends it from an unbound socket.
        auto senders = by_name.find(key_of(sender.abstract(), sender.name()));
        if (senders == by_name.end() || senders->second.size() != 1 || sockets.at(*senders->second.begin())->type() != SOCK_DGRAM)
          return refuse(" with a datagram queued from " + from + ", which no datagram socket of the tree is bound to (its sender address could not be given back)");
      }
    }
  return {};
}

}  // namespace cryo::dump
