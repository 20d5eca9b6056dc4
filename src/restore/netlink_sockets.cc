#include "restore/netlink_sockets.h"

#include <linux/filter.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/unique_fd.h"
#include "kernel/netlink_protocols.h"

namespace cryo::restore {
namespace {

Result<> set_int(int sock, int level, int option, int value, const char* name) {
  if (::setsockopt(sock, level, option, &value, sizeof value) != 0) return fail_errno(std::string("setsockopt(") + name + ")");
  return {};
}

Result<int> get_int(int sock, int option, const char* name) {
  int value = 0;
  socklen_t size = sizeof value;
  if (::getsockopt(sock, SOL_SOCKET, option, &value, &size) != 0) return fail_errno(std::string("getsockopt(") + name + ")");
  return value;
}

// SO_SNDBUF and SO_RCVBUF take half of what getsockopt then shows; above net.core.*mem_max only the
// *BUFFORCE options (CAP_NET_ADMIN) go. A size that still differs stops the restore: the socket
// would drop messages at another point.
Result<> set_buffer(int sock, int option, int force, uint32_t want, const char* name) {
  ASSIGN_OR_RETURN(int now, get_int(sock, option, name));
  if (static_cast<uint32_t>(now) == want) return {};
  int half = static_cast<int>(want / 2);
  RETURN_IF_ERROR(set_int(sock, SOL_SOCKET, option, half, name));
  ASSIGN_OR_RETURN(now, get_int(sock, option, name));
  if (static_cast<uint32_t>(now) != want) {
    RETURN_IF_ERROR(set_int(sock, SOL_SOCKET, force, half, name));
    ASSIGN_OR_RETURN(now, get_int(sock, option, name));
  }
  if (static_cast<uint32_t>(now) != want)
    return fail(std::string(name) + " is " + std::to_string(now) + " here, not " + std::to_string(want) + " as at the dump");
  return {};
}

Result<> set_timeout(int sock, int option, uint64_t us, const char* name) {
  if (us == 0) return {};
  timeval value{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
  if (::setsockopt(sock, SOL_SOCKET, option, &value, sizeof value) != 0) return fail_errno(std::string("setsockopt(") + name + ")");
  return {};
}

Result<> set_options(int sock, const image::NetlinkSocketState& s) {
  // A new socket has every SOL_NETLINK flag off; NETLINK_LISTEN_ALL_NSID needs CAP_NET_BROADCAST
  // even to be turned off, so only the ones on are set.
  struct Flag {
    bool on;
    int option;
    const char* name;
  };
  const Flag flags[] = {
      {s.pktinfo(), NETLINK_PKTINFO, "NETLINK_PKTINFO"},
      {s.broadcast_error(), NETLINK_BROADCAST_ERROR, "NETLINK_BROADCAST_ERROR"},
      {s.no_enobufs(), NETLINK_NO_ENOBUFS, "NETLINK_NO_ENOBUFS"},
      {s.listen_all_nsid(), NETLINK_LISTEN_ALL_NSID, "NETLINK_LISTEN_ALL_NSID"},
      {s.cap_ack(), NETLINK_CAP_ACK, "NETLINK_CAP_ACK"},
      {s.ext_ack(), NETLINK_EXT_ACK, "NETLINK_EXT_ACK"},
      {s.get_strict_chk(), NETLINK_GET_STRICT_CHK, "NETLINK_GET_STRICT_CHK"},
  };
  for (const auto& flag : flags)
    if (flag.on) RETURN_IF_ERROR(set_int(sock, SOL_NETLINK, flag.option, 1, flag.name));
  RETURN_IF_ERROR(set_buffer(sock, SO_SNDBUF, SO_SNDBUFFORCE, s.sndbuf(), "SO_SNDBUF"));
  RETURN_IF_ERROR(set_buffer(sock, SO_RCVBUF, SO_RCVBUFFORCE, s.rcvbuf(), "SO_RCVBUF"));
  if (s.passcred()) RETURN_IF_ERROR(set_int(sock, SOL_SOCKET, SO_PASSCRED, 1, "SO_PASSCRED"));
  RETURN_IF_ERROR(set_timeout(sock, SO_RCVTIMEO, s.rcvtimeo_us(), "SO_RCVTIMEO"));
  RETURN_IF_ERROR(set_timeout(sock, SO_SNDTIMEO, s.sndtimeo_us(), "SO_SNDTIMEO"));
  // The kernel checks the program as at any SO_ATTACH_FILTER. Locked after, as a lock stops attaching.
  if (!s.filter().empty()) {
    std::vector<sock_filter> program(s.filter().size() / sizeof(sock_filter));
    std::memcpy(program.data(), s.filter().data(), program.size() * sizeof(sock_filter));
    sock_fprog fprog{static_cast<unsigned short>(program.size()), program.data()};
    if (::setsockopt(sock, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) != 0) return fail_errno("setsockopt(SO_ATTACH_FILTER)");
  }
  if (s.filter_locked()) RETURN_IF_ERROR(set_int(sock, SOL_SOCKET, SO_LOCK_FILTER, 1, "SO_LOCK_FILTER"));
  return {};
}

Result<> bind_port(int sock, uint32_t portid) {
  sockaddr_nl address{};
  address.nl_family = AF_NETLINK;
  address.nl_pid = portid;
  if (::bind(sock, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    Error e = errno_error("bind(port " + std::to_string(portid) + ")");
    if (e.err == EADDRINUSE) e = e.with_hint("another netlink socket holds that port (is the dumped tree still running?)");
    return fail(e);
  }
  return {};
}

}  // namespace

std::string describe_netlink_socket(const image::NetlinkSocketState& state) {
  const NetlinkProtocol* p = find_netlink_protocol(state.protocol());
  std::string text = p ? p->name : "netlink protocol " + std::to_string(state.protocol());
  text += " socket " + std::to_string(state.socket_id());
  if (state.portid() != 0) text += " (port " + std::to_string(state.portid()) + ")";
  return text;
}

std::string netlink_port_in_use(const image::NetlinkSocketState& state) {
  if (state.portid() == 0) return "";
  // Bound and closed at once: no message can reach it meanwhile.
  UniqueFd sock(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, state.protocol()));
  if (!sock.valid()) return describe_netlink_socket(state) + ": socket: " + std::strerror(errno);
  auto bound = bind_port(sock.get(), state.portid());
  return bound ? "" : describe_netlink_socket(state) + ": " + bound.error().message;
}

Result<int> create_netlink_socket(const image::NetlinkSocketState& state) {
  std::string what = describe_netlink_socket(state);
  UniqueFd sock(::socket(AF_NETLINK, state.type() | SOCK_CLOEXEC, state.protocol()));
  if (!sock.valid()) return fail(errno_error("socket(AF_NETLINK, " + std::to_string(state.type()) + ", " + std::to_string(state.protocol()) + ")").context(what));
  RETURN_IF_ERROR_CTX(set_options(sock.get(), state), what);
  if (state.portid() != 0) RETURN_IF_ERROR_CTX(bind_port(sock.get(), state.portid()), what);
  // NETLINK_ADD_MEMBERSHIP takes any group number (bind's nl_groups only the first 32) and, unlike
  // bind, leaves an unbound socket unbound, as the dumped one was.
  for (uint32_t group : state.groups()) {
    int number = static_cast<int>(group);
    if (::setsockopt(sock.get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &number, sizeof number) != 0)
      return fail(errno_error("setsockopt(NETLINK_ADD_MEMBERSHIP, " + std::to_string(group) + ")").context(what));
  }
  if (state.connected()) {
    // connect() names a group by a mask, of which the kernel keeps the lowest bit.
    sockaddr_nl peer{};
    peer.nl_family = AF_NETLINK;
    peer.nl_pid = state.dst_portid();
    peer.nl_groups = state.dst_group() == 0 ? 0 : 1u << (state.dst_group() - 1);
    if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&peer), sizeof peer) != 0)
      return fail(errno_error("connect(port " + std::to_string(state.dst_portid()) + ", group " + std::to_string(state.dst_group()) + ")").context(what));
  }
  sockaddr_nl address{};
  socklen_t length = sizeof address;
  if (::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) return fail(errno_error("getsockname").context(what));
  if (address.nl_pid != state.portid())
    return fail(what + ": bound to port " + std::to_string(address.nl_pid) + " instead of " + std::to_string(state.portid()));
  return sock.release();
}

}  // namespace cryo::restore
