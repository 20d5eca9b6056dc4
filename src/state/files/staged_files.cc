#include "state/files/staged_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace cryo::state {

Result<int> move_fd_above(int fd, int min_fd) {
  int moved = ::fcntl(fd, F_DUPFD, min_fd);
  int err = errno;
  ::close(fd);
  if (moved < 0) return fail(errno_error("fcntl(F_DUPFD, " + std::to_string(min_fd) + ")", err));
  return moved;
}

}  // namespace cryo::state
