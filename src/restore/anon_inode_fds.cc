#include "restore/anon_inode_fds.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/unique_fd.h"
#include "restore/fanotify_fds.h"
#include "restore/inotify_fds.h"

namespace cryo::restore {
namespace {

// File status flags (O_NONBLOCK ...) live in the open file; fcntl(F_SETFL) ignores the access mode.
Result<> set_status_flags(int fd, uint32_t flags) {
  if (::fcntl(fd, F_SETFL, static_cast<int>(flags)) != 0) return fail_errno("fcntl(F_SETFL)");
  return {};
}

}  // namespace

bool is_anon_inode_kind(image::FdKind kind) {
  return kind == image::FD_INOTIFY || kind == image::FD_FANOTIFY;
}

Result<int> create_anon_inode_fd(const image::Fd& fd) {
  UniqueFd made;
  switch (fd.kind()) {
    case image::FD_INOTIFY: {
      ASSIGN_OR_RETURN(made, create_inotify(fd.inotify()));
      break;
    }
    case image::FD_FANOTIFY: {
      ASSIGN_OR_RETURN(made, create_fanotify(fd.fanotify()));
      break;
    }
    default: return fail("fd kind " + std::to_string(static_cast<int>(fd.kind())) + " is not an anonymous inode");
  }
  RETURN_IF_ERROR(set_status_flags(made.get(), fd.flags()));
  return made.release();
}

}  // namespace cryo::restore
