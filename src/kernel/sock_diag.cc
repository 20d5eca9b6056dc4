#include "kernel/sock_diag.h"

#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/unique_fd.h"

namespace cryo {

Result<> sock_diag_dump(const void* request, size_t request_size, const std::string& what,
                        const std::function<Result<>(const char* data, size_t size)>& each) {
  UniqueFd sock(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!sock.valid()) return fail_errno("socket(AF_NETLINK, NETLINK_SOCK_DIAG)");
  std::vector<char> message(NLMSG_LENGTH(request_size));
  nlmsghdr header{};
  header.nlmsg_len = static_cast<uint32_t>(message.size());
  header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  header.nlmsg_seq = 1;
  std::memcpy(message.data(), &header, sizeof header);
  std::memcpy(message.data() + NLMSG_HDRLEN, request, request_size);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(sock.get(), message.data(), message.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return fail_errno(what + ": sendto");
  std::vector<char> buffer(32768);  // new[] aligns it for nlmsghdr.
  for (;;) {
    ssize_t got;
    while ((got = ::recv(sock.get(), buffer.data(), buffer.size(), 0)) < 0 && errno == EINTR) {
    }
    if (got < 0) return fail_errno(what + ": recv");
    if (got == 0) return fail(what + ": the kernel closed the dump");
    size_t left = static_cast<size_t>(got);
    for (auto* reply = reinterpret_cast<nlmsghdr*>(buffer.data()); NLMSG_OK(reply, left); reply = NLMSG_NEXT(reply, left)) {
      if (reply->nlmsg_type == NLMSG_DONE) return {};
      if (reply->nlmsg_type == NLMSG_ERROR) {
        nlmsgerr error;
        if (reply->nlmsg_len < NLMSG_LENGTH(sizeof error)) return fail(what + ": short error reply");
        std::memcpy(&error, NLMSG_DATA(reply), sizeof error);
        return fail(errno_error(what, -error.error));
      }
      if (reply->nlmsg_type != SOCK_DIAG_BY_FAMILY) return fail(what + ": unexpected reply type " + std::to_string(reply->nlmsg_type));
      RETURN_IF_ERROR_CTX(each(static_cast<const char*>(NLMSG_DATA(reply)), reply->nlmsg_len - NLMSG_HDRLEN), what);
    }
  }
}

}  // namespace cryo
