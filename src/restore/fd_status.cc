#include "restore/fd_status.h"

#include <fcntl.h>
#include <sys/syscall.h>

#include "base/hex.h"

namespace cryo::restore {

Result<> set_fd_status(const image::Fd& fd) {
  int number = fd.fd();
  // fcntl refuses F_SETFL and F_SETSIG on an O_PATH fd; its flags all came from the open.
  if (!(fd.flags() & O_PATH)) {
    if (::fcntl(number, F_SETFL, static_cast<int>(fd.flags())) != 0) return fail_errno("fcntl(F_SETFL, " + hex(fd.flags()) + ")");
    if (fd.signal() != 0 && ::fcntl(number, F_SETSIG, fd.signal()) != 0)
      return fail_errno("fcntl(F_SETSIG, " + std::to_string(fd.signal()) + ")");
  }
  int now = ::fcntl(number, F_GETFL);
  if (now < 0) return fail_errno("fcntl(F_GETFL)");
  if (static_cast<uint32_t>(now) != fd.flags())
    return fail("file status flags " + hex(fd.flags()) + " came back as " + hex(static_cast<uint32_t>(now)) +
                " (a flag that only open(2) gives, or O_ASYNC on a file that has no O_ASYNC support)");
  return {};
}

Result<> restore_fd_owners(RemoteTask& task, const ProcessImage& process) {
  for (const auto& fd : process.files.fds()) {
    if (!fd.has_owner()) continue;
    f_owner_ex owner{static_cast<__pid_type>(fd.owner().type()), fd.owner().pid()};
    task.reset_scratch();
    ASSIGN_OR_RETURN(uint64_t remote, task.put(&owner, sizeof owner));
    RETURN_IF_ERROR_CTX(task.call("fcntl(F_SETOWN_EX)", SYS_fcntl, {static_cast<uint64_t>(fd.fd()), F_SETOWN_EX, remote}),
                        "fd " + std::to_string(fd.fd()) + ": O_ASYNC owner " + std::to_string(fd.owner().pid()));
  }
  return {};
}

}  // namespace cryo::restore
