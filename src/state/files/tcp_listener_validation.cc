// The TCP listeners of an image (FD_TCP_LISTENER): family, address, backlog and options as the
// kernel could have shown them, so restore never hands it a value it did not make.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>

#include "state/files/socket_options.h"
#include "state/files/tcp_listener.h"

namespace cryo::state {

void validate_tcp_listener(const image::Fd& fd, const std::set<int>&, const std::string& name, std::vector<std::string>* problems) {
  const image::TcpListenerState& s = fd.tcp_listener();
  size_t want = s.family() == AF_INET ? sizeof(sockaddr_in) : s.family() == AF_INET6 ? sizeof(sockaddr_in6) : 0;
  if (want == 0) {
    problems->push_back(name + ": TCP listener family " + std::to_string(s.family()) + " is neither AF_INET nor AF_INET6");
    return;
  }
  sa_family_t family = 0;
  if (s.address().size() >= sizeof family) std::memcpy(&family, s.address().data(), sizeof family);
  if (s.address().size() != want || family != s.family())
    problems->push_back(name + ": TCP listener address is not a " + (s.family() == AF_INET ? "sockaddr_in" : "sockaddr_in6"));
  if (s.socket_id() == 0) problems->push_back(name + ": TCP listener has no socket id");
  if (s.v6only() && s.family() != AF_INET6) problems->push_back(name + ": IPV6_V6ONLY on an AF_INET socket");
  // listen() takes an int; the kernel keeps at most net.core.somaxconn, itself an int.
  if (s.has_backlog() && s.backlog() > static_cast<uint32_t>(INT32_MAX))
    problems->push_back(name + ": TCP listener backlog " + std::to_string(s.backlog()) + " is larger than listen() takes");
  validate_socket_options(s.options(), name, problems);
}

}  // namespace cryo::state
