#include "restore/report_channel.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace cryo::restore {
namespace {

struct Header {
  uint32_t kind;
  uint32_t ns_pid;
  uint64_t value;
};
// Datagrams up to this size are delivered whole; longer texts are cut.
constexpr size_t kMaxReport = 4096;

Result<UniqueFd> move_above(int fd, int min_fd) {
  int moved = ::fcntl(fd, F_DUPFD, min_fd);
  int err = errno;
  ::close(fd);
  if (moved < 0) return fail(errno_error("fcntl(F_DUPFD, " + std::to_string(min_fd) + ")", err));
  return UniqueFd(moved);
}

}  // namespace

Result<ReportChannel> ReportChannel::create(int min_fd) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair) != 0) return fail_errno("socketpair(AF_UNIX, SOCK_SEQPACKET)");
  ReportChannel channel;
  ASSIGN_OR_RETURN(channel.receiver_, move_above(pair[0], min_fd));
  ASSIGN_OR_RETURN(channel.sender_, move_above(pair[1], min_fd));
  int one = 1;
  if (::setsockopt(channel.receiver_.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0)
    return fail_errno("setsockopt(SO_PASSCRED)");
  // Only cryo reads; the receiving end must not leak into the tree.
  ::fcntl(channel.receiver_.get(), F_SETFD, FD_CLOEXEC);
  return channel;
}

Result<std::optional<Report>> ReportChannel::receive(std::chrono::milliseconds timeout) {
  pollfd p{receiver_.get(), POLLIN, 0};
  int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (ready < 0) {
    if (errno == EINTR) return std::optional<Report>();
    return fail_errno("poll(report channel)");
  }
  if (ready == 0) return std::optional<Report>();
  char buf[kMaxReport];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
  iovec iov{buf, sizeof buf};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(receiver_.get(), &msg, MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return std::optional<Report>();
    return fail_errno("recvmsg(report channel)");
  }
  if (static_cast<size_t>(n) < sizeof(Header)) return fail("report channel: a short report of " + std::to_string(n) + " bytes");
  Header header;
  std::memcpy(&header, buf, sizeof header);
  Report report;
  report.kind = static_cast<ReportKind>(header.kind);
  report.ns_pid = header.ns_pid;
  report.value = header.value;
  report.text.assign(buf + sizeof header, static_cast<size_t>(n) - sizeof header);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
      ucred cred;
      std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
      report.sender = cred.pid;
    }
  }
  return std::optional<Report>(std::move(report));
}

void send_report(int fd, ReportKind kind, uint32_t ns_pid, uint64_t value, std::string_view text) {
  char buf[kMaxReport];
  Header header{static_cast<uint32_t>(kind), ns_pid, value};
  std::memcpy(buf, &header, sizeof header);
  size_t len = std::min(text.size(), sizeof buf - sizeof header);
  std::memcpy(buf + sizeof header, text.data(), len);
  while (::send(fd, buf, sizeof header + len, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

}  // namespace cryo::restore
