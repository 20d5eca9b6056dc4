#include "kernel/audit_status.h"

#include <linux/audit.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

#include "base/unique_fd.h"

namespace cryo {

Result<pid_t> audit_daemon_pid() {
  UniqueFd sock(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT));
  if (!sock.valid()) return fail_errno("socket(AF_NETLINK, NETLINK_AUDIT)");
  nlmsghdr request{};
  request.nlmsg_len = NLMSG_LENGTH(0);
  request.nlmsg_type = AUDIT_GET;
  request.nlmsg_flags = NLM_F_REQUEST;
  request.nlmsg_seq = 1;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(sock.get(), &request, request.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return fail_errno("AUDIT_GET: sendto");
  std::vector<char> buffer(8192);  // new[] aligns it for nlmsghdr.
  ssize_t got;
  while ((got = ::recv(sock.get(), buffer.data(), buffer.size(), 0)) < 0 && errno == EINTR) {
  }
  if (got < 0) return fail_errno("AUDIT_GET: recv");
  auto* reply = reinterpret_cast<nlmsghdr*>(buffer.data());
  size_t left = static_cast<size_t>(got);
  if (!NLMSG_OK(reply, left)) return fail("AUDIT_GET: short reply");
  if (reply->nlmsg_type == NLMSG_ERROR) {
    nlmsgerr error;
    if (reply->nlmsg_len < NLMSG_LENGTH(sizeof error)) return fail("AUDIT_GET: short error reply");
    std::memcpy(&error, NLMSG_DATA(reply), sizeof error);
    return fail(errno_error("AUDIT_GET", -error.error));
  }
  // The status may be shorter than this header's struct (older kernels): what is missing is 0.
  audit_status status{};
  if (reply->nlmsg_type != AUDIT_GET || reply->nlmsg_len < NLMSG_LENGTH(offsetof(audit_status, pid) + sizeof status.pid))
    return fail("AUDIT_GET: unexpected reply type " + std::to_string(reply->nlmsg_type));
  std::memcpy(&status, NLMSG_DATA(reply), std::min(sizeof status, static_cast<size_t>(reply->nlmsg_len - NLMSG_HDRLEN)));
  return static_cast<pid_t>(status.pid);
}

}  // namespace cryo
