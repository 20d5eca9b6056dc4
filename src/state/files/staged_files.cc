#include "state/files/staged_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace cryo::state {

Result<> stage_each_socket_once(const ImageSet& set, image::FdKind kind, uint64_t (*id_of)(const image::Fd&),
                                Result<int> (*make)(const image::Fd&), int min_fd, StagedFds& staged) {
  for (const auto& process : set.processes)
    for (const auto& fd : process.files.fds()) {
      if (fd.kind() != kind || staged.sockets.count(id_of(fd))) continue;
      ASSIGN_OR_RETURN(int sock, make(fd));
      ASSIGN_OR_RETURN(staged.sockets[id_of(fd)], move_fd_above(sock, min_fd));
    }
  return {};
}

Result<int> move_fd_above(int fd, int min_fd) {
  int moved = ::fcntl(fd, F_DUPFD, min_fd);
  int err = errno;
  ::close(fd);
  if (moved < 0) return fail(errno_error("fcntl(F_DUPFD, " + std::to_string(min_fd) + ")", err));
  return moved;
}

}  // namespace cryo::state
