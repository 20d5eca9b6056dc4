#include "restore/unix_datagrams.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "image/unix_socket_name.h"
#include "restore/unix_listeners.h"
#include "state/files/socket_options.h"

namespace cryo::restore {
namespace {

bool named(const image::UnixSocketState& s) { return s.abstract() || !s.name().empty(); }

std::string key_of(bool abstract, const std::string& name) { return (abstract ? "@" : "/") + name; }

std::string what(const image::UnixSocketState& s) {
  return "unix datagram socket " + std::to_string(s.socket_id()) + (named(s) ? " on " + image::shown_unix_name(s) : "");
}

// The same rule as the dump's (dump/unix_datagrams.cc).
bool is_pair(const image::UnixSocketState& s, const image::UnixSocketState* peer) {
  return peer && peer->peer_id() == s.socket_id() && peer->socket_id() != s.socket_id() && (!named(s) || !named(*peer));
}

// A size the socket cannot show (above net.core.wmem_max or rmem_max, without CAP_NET_ADMIN) stops
// the restore; 0 is the host's default, as the dump found it.
Result<> set_buffer(int sock, int option, int force, uint32_t want, const char* name, const char* sysctl) {
  if (want == 0) return {};
  ASSIGN_OR_RETURN(uint32_t now, set_buffer_size(sock, option, force, want, name));
  if (now == want) return {};
  return fail(make_error(std::string(name) + " " + std::to_string(want) + " cannot be set here").with_hint(std::string("raise ") + sysctl));
}

Result<> send_all(int sock, const std::string& data, const image::UnixSocketState* to) {
  size_t sent = 0;
  if (to) {
    ASSIGN_OR_RETURN(sent, send_unix_to(sock, data, *to));
  } else {
    ssize_t n = ::send(sock, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) return fail_errno("send of " + std::to_string(data.size()) + " bytes to the socketpair peer");
    sent = static_cast<size_t>(n);
  }
  if (sent != data.size()) return fail("sent " + std::to_string(sent) + " of a datagram of " + std::to_string(data.size()) + " bytes");
  return {};
}

// Step 3: receiver `r`'s queue, each datagram from the socket bound to its sender's name (a fresh
// unbound one for an unbound sender: it may close once the datagram is queued, as a sender may).
Result<> refill(const image::UnixSocketState& r, bool pair, const std::map<uint64_t, UniqueFd>& made,
                const std::map<std::string, uint64_t>& by_name) {
  for (int i = 0; i < r.queue_size(); ++i) {
    const std::string& data = r.queue(i);
    std::string which = "datagram " + std::to_string(i + 1) + " of " + std::to_string(r.queue_size());
    if (pair) {
      // A socketpair end hears only from its other end.
      RETURN_IF_ERROR_CTX(send_all(made.at(r.peer_id()).get(), data, nullptr), which);
      continue;
    }
    bool unbound = i >= r.senders_size() || (!r.senders(i).abstract() && r.senders(i).name().empty());
    if (unbound) {
      UniqueFd sender(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      if (!sender.valid()) return fail(errno_error("socket(AF_UNIX, SOCK_DGRAM)").context(which));
      RETURN_IF_ERROR_CTX(send_all(sender.get(), data, &r), which);
      continue;
    }
    // Validation made sure one datagram socket of the image is bound to the name.
    uint64_t from = by_name.at(key_of(r.senders(i).abstract(), r.senders(i).name()));
    RETURN_IF_ERROR_CTX(send_all(made.at(from).get(), data, &r), which + " from socket " + std::to_string(from));
  }
  return {};
}

}  // namespace

Result<> stage_unix_datagrams(const std::map<uint64_t, const image::UnixSocketState*>& sockets, int min_fd,
                              std::map<uint64_t, int>& staged) {
  std::map<uint64_t, UniqueFd> made;
  std::set<uint64_t> pairs;
  std::map<std::string, uint64_t> by_name;
  auto peer_of = [&](const image::UnixSocketState& s) -> const image::UnixSocketState* {
    auto found = s.peer_id() ? sockets.find(s.peer_id()) : sockets.end();
    return found == sockets.end() ? nullptr : found->second;
  };
  // 1. The sockets and their buffers.
  for (const auto& [id, s] : sockets) {
    if (s->type() != SOCK_DGRAM || made.count(id)) continue;
    const image::UnixSocketState* peer = peer_of(*s);
    if (is_pair(*s, peer)) {
      int ends[2];
      if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, ends) != 0) return fail(errno_error("socketpair(AF_UNIX, SOCK_DGRAM)").context(what(*s)));
      made[id] = UniqueFd(ends[0]);
      made[peer->socket_id()] = UniqueFd(ends[1]);
      pairs.insert(id);
      pairs.insert(peer->socket_id());
      continue;
    }
    UniqueFd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock.valid()) return fail(errno_error("socket(AF_UNIX, SOCK_DGRAM)").context(what(*s)));
    made[id] = std::move(sock);
  }
  for (const auto& [id, sock] : made) {
    const auto& s = *sockets.at(id);
    RETURN_IF_ERROR_CTX(set_buffer(sock.get(), SO_SNDBUF, SO_SNDBUFFORCE, s.sndbuf(), "SO_SNDBUF", "net.core.wmem_max"), what(s));
    RETURN_IF_ERROR_CTX(set_buffer(sock.get(), SO_RCVBUF, SO_RCVBUFFORCE, s.rcvbuf(), "SO_RCVBUF", "net.core.rmem_max"), what(s));
  }
  // 2. Names.
  for (const auto& [id, sock] : made) {
    const auto& s = *sockets.at(id);
    if (!named(s)) continue;
    RETURN_IF_ERROR(bind_unix_socket(sock.get(), s, what(s)));
    by_name[key_of(s.abstract(), s.name())] = id;
  }
  // 3. Queues.
  for (const auto& [id, sock] : made) {
    const auto& s = *sockets.at(id);
    RETURN_IF_ERROR_CTX(refill(s, pairs.count(id) != 0, made, by_name), what(s) + ": queued datagrams");
  }
  // 4. Connections. Connecting X to Y needs Y unconnected or connected to X, so X waits while
  // another socket still to connect to X would be shut out by it (the senders of a receiver that is
  // connected back to one of them connect first).
  std::map<uint64_t, uint64_t> connected;  // Socket -> its peer, as made so far.
  for (uint64_t id : pairs) connected[id] = sockets.at(id)->peer_id();
  std::vector<uint64_t> pending;
  for (const auto& [id, sock] : made)
    if (!pairs.count(id) && sockets.at(id)->peer_id() != 0) pending.push_back(id);
  while (!pending.empty()) {
    auto feasible = [&](uint64_t x) {
      auto peer = connected.find(sockets.at(x)->peer_id());
      return peer == connected.end() || peer->second == x;
    };
    auto blocks_nobody = [&](uint64_t x) {
      for (uint64_t w : pending)
        if (w != x && sockets.at(w)->peer_id() == x && w != sockets.at(x)->peer_id()) return false;
      return true;
    };
    auto next = pending.end();
    for (auto it = pending.begin(); it != pending.end(); ++it)
      if (feasible(*it) && blocks_nobody(*it)) {
        next = it;
        break;
      }
    for (auto it = pending.begin(); next == pending.end() && it != pending.end(); ++it)
      if (feasible(*it)) next = it;
    if (next == pending.end())
      return fail(what(*sockets.at(pending.front())) + ": no order of connect() makes the dumped connections again");
    const auto& s = *sockets.at(*next);
    RETURN_IF_ERROR_CTX(connect_unix_socket(made.at(*next).get(), *sockets.at(s.peer_id())), what(s));
    connected[*next] = s.peer_id();
    pending.erase(next);
  }
  // 5. Files unlinked after bind, and the sockets to their staging numbers.
  for (const auto& [id, sock] : made) RETURN_IF_ERROR(unlink_if_dumped_unlinked(sock.get(), *sockets.at(id)));
  for (auto& [id, sock] : made) {
    int moved = ::fcntl(sock.get(), F_DUPFD, min_fd);
    if (moved < 0) return fail(errno_error("fcntl(F_DUPFD, " + std::to_string(min_fd) + ")").context(what(*sockets.at(id))));
    staged[id] = moved;
  }
  return {};
}

}  // namespace cryo::restore
