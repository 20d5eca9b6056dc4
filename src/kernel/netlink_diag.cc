#include "kernel/netlink_diag.h"

#include <linux/netlink.h>
#include <linux/netlink_diag.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kernel/sock_diag.h"

namespace cryo {

Result<NetlinkSocketDiag> parse_netlink_diag(const char* data, size_t size) {
  if (size < sizeof(netlink_diag_msg)) return fail("netlink_diag reply of " + std::to_string(size) + " bytes is too short");
  netlink_diag_msg msg;
  std::memcpy(&msg, data, sizeof msg);
  NetlinkSocketDiag diag;
  diag.ino = msg.ndiag_ino;
  diag.type = msg.ndiag_type;
  diag.protocol = msg.ndiag_protocol;
  diag.state = msg.ndiag_state;
  diag.portid = msg.ndiag_portid;
  diag.dst_portid = msg.ndiag_dst_portid;
  diag.dst_group = msg.ndiag_dst_group;
  // Attributes follow the fixed part, each padded to 4 bytes.
  size_t at = NLMSG_ALIGN(sizeof msg);
  while (at + sizeof(nlattr) <= size) {
    nlattr attr;
    std::memcpy(&attr, data + at, sizeof attr);
    if (attr.nla_len < sizeof attr || at + attr.nla_len > size) return fail("netlink_diag reply has a malformed attribute");
    const char* value = data + at + NLA_HDRLEN;
    size_t length = attr.nla_len - NLA_HDRLEN;
    switch (attr.nla_type) {
      case NETLINK_DIAG_GROUPS:
        // A bitmap of unsigned longs: bit N-1 is group N.
        for (size_t byte = 0; byte < length; ++byte)
          for (int bit = 0; bit < 8; ++bit)
            if (static_cast<unsigned char>(value[byte]) & (1u << bit)) diag.groups.push_back(static_cast<uint32_t>(byte * 8 + bit + 1));
        break;
      case NETLINK_DIAG_MEMINFO:
        if (length >= sizeof(uint32_t) * (SK_MEMINFO_RMEM_ALLOC + 1)) {
          uint32_t rmem;
          std::memcpy(&rmem, value + sizeof(uint32_t) * SK_MEMINFO_RMEM_ALLOC, sizeof rmem);
          diag.rmem_alloc = rmem;
        }
        break;
      case NETLINK_DIAG_FLAGS:
        if (length >= sizeof(uint32_t)) std::memcpy(&diag.flags, value, sizeof diag.flags);
        break;
      case NETLINK_DIAG_RX_RING:
      case NETLINK_DIAG_TX_RING: diag.has_ring = true; break;
      default: break;
    }
    at += NLA_ALIGN(attr.nla_len);
  }
  return diag;
}

Result<NetlinkSocketDiag> query_netlink_socket(int protocol, uint64_t ino) {
  std::string what = "sock_diag of netlink socket " + std::to_string(ino);
  if (protocol < 0 || protocol >= MAX_LINKS) return fail(what + ": protocol " + std::to_string(protocol) + " is out of range");
  netlink_diag_req request{};
  request.sdiag_family = AF_NETLINK;
  request.sdiag_protocol = static_cast<uint8_t>(protocol);
  request.ndiag_show = NDIAG_SHOW_GROUPS | NDIAG_SHOW_MEMINFO | NDIAG_SHOW_FLAGS | NDIAG_SHOW_RING_CFG;
  // netlink_diag has no lookup of one socket: only a dump of them all.
  NetlinkSocketDiag found;
  RETURN_IF_ERROR(sock_diag_dump(&request, sizeof request, what, [&](const char* data, size_t size) -> Result<> {
    ASSIGN_OR_RETURN(NetlinkSocketDiag diag, parse_netlink_diag(data, size));
    // A socket both bound and in a multicast group may be listed twice, the same.
    if (diag.ino == ino && !found.listed) {
      found = std::move(diag);
      found.listed = true;
    }
    return {};
  }));
  return found;
}

}  // namespace cryo
