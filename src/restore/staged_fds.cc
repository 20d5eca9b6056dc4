#include "restore/staged_pipes.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace cryo::restore {
namespace {

Result<int> move_above(int fd, int min_fd) {
  int moved = ::fcntl(fd, F_DUPFD, min_fd);
  int err = errno;
  ::close(fd);
  if (moved < 0) return fail(errno_error("fcntl(F_DUPFD, " + std::to_string(min_fd) + ")", err));
  return moved;
}

}  // namespace

int staging_fd_base(const ImageSet& set) {
  int highest = 2;
  for (const auto& process : set.processes)
    for (const auto& fd : process.files.fds()) highest = std::max(highest, fd.fd());
  return highest + 1;
}

Result<std::map<uint64_t, StagedPipe>> stage_pipes(const image::Pipes& pipes, int min_fd) {
  std::map<uint64_t, StagedPipe> staged;
  for (const auto& pipe : pipes.pipes()) {
    std::string what = "pipe " + std::to_string(pipe.pipe_id());
    int ends[2];
    if (::pipe2(ends, O_NONBLOCK) != 0) return fail(errno_error("pipe2").context(what));
    ASSIGN_OR_RETURN(int read_fd, move_above(ends[0], min_fd));
    ASSIGN_OR_RETURN(int write_fd, move_above(ends[1], min_fd));
    staged[pipe.pipe_id()] = {read_fd, write_fd};
    if (pipe.capacity() != 0 && ::fcntl(write_fd, F_SETPIPE_SZ, static_cast<int>(pipe.capacity())) < 0) {
      // Above /proc/sys/fs/pipe-max-size only CAP_SYS_RESOURCE may go; the data may still fit.
      if (pipe.data().size() > static_cast<size_t>(::fcntl(write_fd, F_GETPIPE_SZ)))
        return fail(errno_error("fcntl(F_SETPIPE_SZ, " + std::to_string(pipe.capacity()) + ")").context(what));
    }
    // The write end is non-blocking while it is refilled: a pipe too small for its data must fail
    // here, not hang. The placeholders set each end's own flags afterwards.
    const char* data = pipe.data().data();
    size_t left = pipe.data().size();
    while (left > 0) {
      ssize_t n = ::write(write_fd, data, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        return fail(errno_error("write of " + std::to_string(pipe.data().size()) + " buffered bytes").context(what));
      data += n;
      left -= static_cast<size_t>(n);
    }
    for (int fd : {read_fd, write_fd})
      if (::fcntl(fd, F_SETFL, 0) != 0) return fail(errno_error("fcntl(F_SETFL)").context(what));
  }
  return staged;
}

}  // namespace cryo::restore
