// The netlink sockets of an image (FD_NETLINK_SOCKET): every field is checked against what the
// kernel could have shown and netlink_socket.h can give back, so restore never hands the
// kernel a value it did not make.
#include <linux/filter.h>
#include <sys/socket.h>

#include <map>
#include <set>
#include <utility>

#include "kernel/netlink_protocols.h"
#include "state/files/netlink_socket.h"

namespace cryo::state {
namespace {

// Far above any real membership list: NETLINK_GENERIC hands out group numbers as families register
// theirs, a few hundred on a busy host.
constexpr int kMaxMulticastGroups = 4096;
constexpr uint32_t kMaxMulticastGroupNumber = 1 << 20;
// The kernel caps buffers at INT_MAX; a timeout above a century is no timeout a program sets.
constexpr uint32_t kMaxBuffer = 1u << 30;
constexpr uint64_t kMaxTimeoutUs = uint64_t{100} * 365 * 24 * 3600 * 1000000;

}  // namespace

void validate_netlink_socket(const image::NetlinkSocketState& s, const std::string& name, std::vector<std::string>* problems) {
  std::string what = name + ": netlink socket";
  if (s.socket_id() == 0) problems->push_back(what + " has no socket id");
  if (s.type() != SOCK_RAW && s.type() != SOCK_DGRAM) problems->push_back(what + " of type " + std::to_string(s.type()) + ", neither SOCK_RAW nor SOCK_DGRAM");
  const NetlinkProtocol* protocol = find_netlink_protocol(s.protocol());
  if (!protocol || !protocol->restorable)
    problems->push_back(what + " of protocol " + std::to_string(s.protocol()) + ", which cryo does not make again");
  if (s.groups_size() > kMaxMulticastGroups) problems->push_back(what + " is in more than " + std::to_string(kMaxMulticastGroups) + " multicast groups");
  uint32_t previous = 0;
  for (uint32_t group : s.groups()) {
    if (group == 0 || group > kMaxMulticastGroupNumber || group <= previous) {
      problems->push_back(what + ": multicast group " + std::to_string(group) + " is out of range or out of order");
      break;
    }
    previous = group;
  }
  // connect() binds an unbound socket, and names a group by a 32-bit mask.
  if (s.connected() && s.portid() == 0) problems->push_back(what + " is connected but not bound");
  if (!s.connected() && (s.dst_portid() != 0 || s.dst_group() != 0)) problems->push_back(what + " has a destination but is not connected");
  if (s.dst_group() > 32) problems->push_back(what + ": destination group " + std::to_string(s.dst_group()) + " is above 32");
  if (s.sndbuf() > kMaxBuffer || s.rcvbuf() > kMaxBuffer) problems->push_back(what + ": buffer sizes are out of range");
  if (s.rcvtimeo_us() > kMaxTimeoutUs || s.sndtimeo_us() > kMaxTimeoutUs) problems->push_back(what + ": timeouts are out of range");
  // Whole struct sock_filter instructions, as many as a classic program may have (the kernel checks
  // the program itself when restore attaches it).
  if (s.filter().size() % sizeof(sock_filter) != 0 || s.filter().size() / sizeof(sock_filter) > BPF_MAXINSNS)
    problems->push_back(what + ": socket filter of " + std::to_string(s.filter().size()) + " bytes is not a classic BPF program");
}

void validate_netlink_fd(const image::Fd& fd, const std::set<int>&, const std::string& name, std::vector<std::string>* problems) {
  validate_netlink_socket(fd.netlink_socket(), name, problems);
}

void validate_netlink_sockets(const ImageSet& set, std::vector<std::string>* problems) {
  // Restore stages every socket by its id, in one table: a netlink socket must not share one.
  std::set<uint64_t> other_sockets;
  for (const auto& process : set.processes)
    for (const auto& fd : process.files.fds()) {
      if (fd.kind() == image::FD_UNIX_SOCKET) other_sockets.insert(fd.unix_socket().socket_id());
      if (fd.kind() == image::FD_TCP_LISTENER) other_sockets.insert(fd.tcp_listener().socket_id());
    }
  std::map<uint64_t, const image::NetlinkSocketState*> sockets;
  std::map<std::pair<int32_t, uint32_t>, uint64_t> ports;  // (protocol, port id) -> socket id.
  for (const auto& process : set.processes)
    for (const auto& fd : process.files.fds()) {
      if (fd.kind() != image::FD_NETLINK_SOCKET) continue;
      const auto& s = fd.netlink_socket();
      std::string name = "pid " + std::to_string(process.pid()) + ": fd " + std::to_string(fd.fd());
      if (other_sockets.count(s.socket_id()))
        problems->push_back(name + ": netlink socket " + std::to_string(s.socket_id()) + " has the id of a unix or TCP socket");
      auto [it, fresh] = sockets.emplace(s.socket_id(), &s);
      if (!fresh) {
        if (it->second->SerializeAsString() != s.SerializeAsString())
          problems->push_back(name + ": netlink socket " + std::to_string(s.socket_id()) + " differs from another holder's");
        continue;
      }
      if (s.portid() == 0) continue;
      auto [port, free] = ports.emplace(std::make_pair(s.protocol(), s.portid()), s.socket_id());
      if (!free)
        problems->push_back(name + ": netlink socket " + std::to_string(s.socket_id()) + " is bound to port " + std::to_string(s.portid()) +
                            " of socket " + std::to_string(port->second) + " too");
    }
}

}  // namespace cryo::state
