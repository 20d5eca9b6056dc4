#include "kernel/netlink_diag.h"

#include <linux/netlink.h>
#include <linux/netlink_diag.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/unique_fd.h"

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
  UniqueFd sock(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!sock.valid()) return fail_errno("socket(AF_NETLINK, NETLINK_SOCK_DIAG)");
  struct {
    nlmsghdr header;
    netlink_diag_req request;
  } message{};
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  // netlink_diag has no lookup of one socket: only a dump of them all.
  message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message.header.nlmsg_seq = 1;
  message.request.sdiag_family = AF_NETLINK;
  message.request.sdiag_protocol = static_cast<uint8_t>(protocol);
  message.request.ndiag_show = NDIAG_SHOW_GROUPS | NDIAG_SHOW_MEMINFO | NDIAG_SHOW_FLAGS | NDIAG_SHOW_RING_CFG;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(sock.get(), &message, sizeof message, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return fail_errno(what + ": sendto");
  NetlinkSocketDiag found;
  std::vector<char> buffer(32768);  // new[] aligns it for nlmsghdr.
  // Every part is read to NLMSG_DONE, even once the socket is found: the socket is closed after.
  for (;;) {
    ssize_t got;
    while ((got = ::recv(sock.get(), buffer.data(), buffer.size(), 0)) < 0 && errno == EINTR) {
    }
    if (got < 0) return fail_errno(what + ": recv");
    if (got == 0) return fail(what + ": the kernel closed the dump");
    size_t left = static_cast<size_t>(got);
    for (auto* reply = reinterpret_cast<nlmsghdr*>(buffer.data()); NLMSG_OK(reply, left); reply = NLMSG_NEXT(reply, left)) {
      if (reply->nlmsg_type == NLMSG_DONE) return found;
      if (reply->nlmsg_type == NLMSG_ERROR) {
        nlmsgerr error;
        if (reply->nlmsg_len < NLMSG_LENGTH(sizeof error)) return fail(what + ": short error reply");
        std::memcpy(&error, NLMSG_DATA(reply), sizeof error);
        return fail(errno_error(what, -error.error));
      }
      if (reply->nlmsg_type != SOCK_DIAG_BY_FAMILY) return fail(what + ": unexpected reply type " + std::to_string(reply->nlmsg_type));
      ASSIGN_OR_RETURN_CTX(NetlinkSocketDiag diag, parse_netlink_diag(static_cast<const char*>(NLMSG_DATA(reply)), reply->nlmsg_len - NLMSG_HDRLEN), what);
      // A socket both bound and in a multicast group may be listed twice, the same.
      if (diag.ino == ino && !found.listed) {
        found = std::move(diag);
        found.listed = true;
      }
    }
  }
}

}  // namespace cryo
