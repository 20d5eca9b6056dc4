#include "dump/inet_sockets.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace cryo::dump {
namespace {

// "127.0.0.1:8080", "[::1]:8080"; "" for another family.
std::string address_text(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(address);
    ::inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(in.sin_port));
  }
  if (address.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
    ::inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(in6.sin6_port));
  }
  return "";
}

bool has_port(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) return reinterpret_cast<const sockaddr_in&>(address).sin_port != 0;
  if (address.ss_family == AF_INET6) return reinterpret_cast<const sockaddr_in6&>(address).sin6_port != 0;
  return false;
}

// The kernel's TCP states (include/net/tcp_states.h), in their order.
const char* tcp_state_name(unsigned state) {
  static const char* const kNames[] = {"", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
                                       "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"};
  return state < sizeof kNames / sizeof kNames[0] ? kNames[state] : "";
}

}  // namespace

std::string describe_inet_endpoints(int sock, int family, int type) {
  if (family != AF_INET && family != AF_INET6) return "";
  sockaddr_storage local{}, peer{};
  socklen_t local_size = sizeof local, peer_size = sizeof peer;
  bool bound = ::getsockname(sock, reinterpret_cast<sockaddr*>(&local), &local_size) == 0 && has_port(local);
  bool connected = ::getpeername(sock, reinterpret_cast<sockaddr*>(&peer), &peer_size) == 0;
  std::string state = connected ? " connected" : "";
  if (type == SOCK_STREAM) {
    tcp_info info{};
    socklen_t size = sizeof info;
    if (::getsockopt(sock, IPPROTO_TCP, TCP_INFO, &info, &size) == 0 && info.tcpi_state != 1 /* ESTABLISHED */ &&
        *tcp_state_name(info.tcpi_state))
      state = std::string(" in TCP state ") + tcp_state_name(info.tcpi_state);
  }
  if (connected) return state + " from " + address_text(local) + " to " + address_text(peer);
  if (bound) return state + " bound to " + address_text(local);
  return state + " not bound";
}

}  // namespace cryo::dump
