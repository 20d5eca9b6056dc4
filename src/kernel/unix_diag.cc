#include "kernel/unix_diag.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/unique_fd.h"

namespace cryo {

Result<UnixSocketDiag> query_unix_socket(uint64_t ino) {
  std::string what = "sock_diag of unix socket " + std::to_string(ino);
  if (ino > UINT32_MAX) return fail(what + ": inode does not fit the request");
  UniqueFd sock(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!sock.valid()) return fail_errno("socket(AF_NETLINK, NETLINK_SOCK_DIAG)");
  struct {
    nlmsghdr header;
    unix_diag_req request;
  } message{};
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST;
  message.request.sdiag_family = AF_UNIX;
  message.request.udiag_states = ~0u;
  message.request.udiag_ino = static_cast<uint32_t>(ino);
  message.request.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_VFS;
  // A lookup by inode checks the cookie unless it is "none".
  message.request.udiag_cookie[0] = INET_DIAG_NOCOOKIE;
  message.request.udiag_cookie[1] = INET_DIAG_NOCOOKIE;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(sock.get(), &message, sizeof message, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return fail_errno(what + ": sendto");
  alignas(nlmsghdr) char buffer[8192];
  ssize_t got;
  while ((got = ::recv(sock.get(), buffer, sizeof buffer, 0)) < 0 && errno == EINTR) {
  }
  if (got < 0) return fail_errno(what + ": recv");
  auto* reply = reinterpret_cast<nlmsghdr*>(buffer);
  if (!NLMSG_OK(reply, static_cast<unsigned>(got))) return fail(what + ": short reply");
  if (reply->nlmsg_type == NLMSG_ERROR) {
    auto* error = static_cast<nlmsgerr*>(NLMSG_DATA(reply));
    return fail(errno_error(what, -error->error));
  }
  if (reply->nlmsg_type != SOCK_DIAG_BY_FAMILY || reply->nlmsg_len < NLMSG_LENGTH(sizeof(unix_diag_msg)))
    return fail(what + ": unexpected reply type " + std::to_string(reply->nlmsg_type));
  auto* msg = static_cast<unix_diag_msg*>(NLMSG_DATA(reply));
  UnixSocketDiag diag;
  diag.ino = msg->udiag_ino;
  diag.type = msg->udiag_type;
  diag.state = msg->udiag_state;
  // Attributes follow the fixed part, each padded to 4 bytes.
  const char* at = reinterpret_cast<const char*>(msg) + NLMSG_ALIGN(sizeof *msg);
  const char* end = reinterpret_cast<const char*>(reply) + reply->nlmsg_len;
  while (at + sizeof(nlattr) <= end) {
    nlattr attr;
    std::memcpy(&attr, at, sizeof attr);
    if (attr.nla_len < sizeof attr || at + attr.nla_len > end) break;
    const char* data = at + NLA_HDRLEN;
    size_t length = attr.nla_len - NLA_HDRLEN;
    switch (attr.nla_type) {
      case UNIX_DIAG_NAME: diag.name = std::string(data, length); break;
      case UNIX_DIAG_PEER:
        if (length >= sizeof(uint32_t)) {
          uint32_t peer;
          std::memcpy(&peer, data, sizeof peer);
          diag.peer_ino = peer;
          diag.peer_present = true;
        }
        break;
      case UNIX_DIAG_RQLEN:
        if (length >= sizeof(unix_diag_rqlen)) {
          unix_diag_rqlen rq;
          std::memcpy(&rq, data, sizeof rq);
          diag.rqueue = rq.udiag_rqueue;
          diag.wqueue = rq.udiag_wqueue;
        }
        break;
      case UNIX_DIAG_VFS:
        if (length >= sizeof(unix_diag_vfs)) {
          unix_diag_vfs vfs;
          std::memcpy(&vfs, data, sizeof vfs);
          diag.vfs_ino = vfs.udiag_vfs_ino;
          // The kernel sends its internal dev_t (major << 20 | minor), not stat's encoding.
          diag.vfs_dev = makedev(vfs.udiag_vfs_dev >> 20, vfs.udiag_vfs_dev & 0xfffff);
        }
        break;
      case UNIX_DIAG_SHUTDOWN:
        if (length >= 1) diag.shutdown = static_cast<uint8_t>(data[0]);
        break;
      default: break;
    }
    at += NLA_ALIGN(attr.nla_len);
  }
  return diag;
}

}  // namespace cryo
