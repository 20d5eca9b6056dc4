#include "ptrace/injected_fd.h"

#include <sys/syscall.h>
#include <unistd.h>

namespace cryo {
namespace {

// The fd numbered `fd` in process `pid`, as a new fd of cryo's.
Result<UniqueFd> take_fd(pid_t pid, int fd) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) return fail_errno("pidfd_open(" + std::to_string(pid) + ")");
  UniqueFd taken(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
  if (!taken.valid()) return fail_errno("pidfd_getfd(" + std::to_string(pid) + ", " + std::to_string(fd) + ")");
  return taken;
}

}  // namespace

Result<UniqueFd> take_injected_fd(RemoteSyscalls& remote, pid_t pid, const std::string& what, long nr,
                                  std::array<uint64_t, 6> args) {
  ASSIGN_OR_RETURN(uint64_t fd, remote.call(what, nr, args));
  auto taken = take_fd(pid, static_cast<int>(fd));
  // Closed in the process whatever came of taking it.
  auto closed = remote.call("close(" + what + ")", SYS_close, {fd});
  if (!taken) return fail(taken.error().context("pid " + std::to_string(pid)));
  if (!closed) return fail(closed.error());
  return std::move(*taken);
}

}  // namespace cryo
