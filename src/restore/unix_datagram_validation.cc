// The datagram sockets of an image, as restore/unix_datagrams.h will make them: every peer in the
// image (a socketpair's other end pointing back, or a named receiver), queues that only a socket the
// image binds (or an unbound one) could have sent, buffer sizes setsockopt can give, and no two
// sockets restore would bind to one name.
#include <sys/socket.h>
#include <sys/un.h>

#include <limits>

#include "restore/image_validation.h"

namespace cryo::restore {
namespace {

constexpr size_t kSunPathSize = sizeof(sockaddr_un{}.sun_path);

template <typename Named>
bool named(const Named& s) {
  return s.abstract() || !s.name().empty();
}

std::string key_of(bool abstract, const std::string& name) { return (abstract ? "@" : "/") + name; }

// The same rule as restore/unix_datagrams.cc.
bool is_pair(const image::UnixSocketState& s, const image::UnixSocketState* peer) {
  return peer && peer->peer_id() == s.socket_id() && peer->socket_id() != s.socket_id() && (!named(s) || !named(*peer));
}

}  // namespace

void validate_unix_datagrams(const std::map<uint64_t, const image::UnixSocketState*>& sockets, std::vector<std::string>* problems) {
  std::map<std::string, int> names;  // Named datagram sockets and listeners, by name.
  for (const auto& [id, s] : sockets)
    if (named(*s) && (s->type() == SOCK_DGRAM || s->listening())) ++names[key_of(s->abstract(), s->name())];
  std::map<std::string, uint64_t> datagram_names;
  for (const auto& [id, s] : sockets)
    if (s->type() == SOCK_DGRAM && named(*s)) datagram_names[key_of(s->abstract(), s->name())] = id;
  for (const auto& [id, s] : sockets) {
    if (s->type() != SOCK_DGRAM) continue;
    std::string sock = "unix datagram socket " + std::to_string(id);
    if (named(*s) && names[key_of(s->abstract(), s->name())] > 1) problems->push_back(sock + ": another socket of the image is bound to the same name");
    if (s->sndbuf() > static_cast<uint32_t>(std::numeric_limits<int>::max()) || s->rcvbuf() > static_cast<uint32_t>(std::numeric_limits<int>::max()))
      problems->push_back(sock + ": buffer sizes out of range");
    const image::UnixSocketState* peer = nullptr;
    if (s->peer_id() != 0) {
      auto found = sockets.find(s->peer_id());
      if (found == sockets.end() || found->second->type() != SOCK_DGRAM) {
        problems->push_back(sock + ": its peer " + std::to_string(s->peer_id()) + " is not in the image as the other end, a datagram socket");
        continue;
      }
      peer = found->second;
      if (!is_pair(*s, peer) && !named(*peer))
        problems->push_back(sock + ": connected to socket " + std::to_string(s->peer_id()) + ", which has no name to connect to and is not its socketpair end");
    }
    bool pair = is_pair(*s, peer);
    if (!named(*s) && !pair && s->queue_size() != 0) problems->push_back(sock + ": datagrams queued to a socket that nobody could send to");
    if (s->senders_size() != 0 && s->senders_size() != s->queue_size())
      problems->push_back(sock + ": " + std::to_string(s->senders_size()) + " senders for " + std::to_string(s->queue_size()) + " queued datagrams");
    for (const auto& sender : s->senders()) {
      if (sender.abstract() ? sender.name().size() > kSunPathSize - 1
                            : sender.name().size() > kSunPathSize || sender.name().find('\0') != std::string::npos) {
        problems->push_back(sock + ": a sender name that does not fit sun_path");
        continue;
      }
      if (pair) {
        if (sender.abstract() != peer->abstract() || sender.name() != peer->name())
          problems->push_back(sock + ": a queued datagram from another sender than its socketpair end");
      } else if (named(sender) && !datagram_names.count(key_of(sender.abstract(), sender.name()))) {
        problems->push_back(sock + ": a queued datagram from " + key_of(sender.abstract(), sender.name()) + ", which no datagram socket of the image is bound to");
      }
    }
  }
}

}  // namespace cryo::restore
