#include "restore/fifos.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cryo::restore {
namespace {

// Bytes buffered in the FIFO open at `fd` (which any open of it shares), or -1 with errno.
int buffered_bytes(int fd) {
  int buffered = 0;
  return ::ioctl(fd, FIONREAD, &buffered) == 0 ? buffered : -1;
}

std::string already_written(const std::string& path, int bytes) {
  return "FIFO " + path + " already holds " + std::to_string(bytes) +
         " bytes written by a process outside the tree; restoring would hand them to the tree (read or remove them first)";
}

}  // namespace

void check_fifo(const image::PipeEntry& fifo, bool same_boot, std::vector<std::string>* problems, std::vector<std::string>* notes) {
  const std::string& path = fifo.fifo_path();
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    problems->push_back("FIFO " + path + " of the tree: " + std::strerror(errno) + " (mkfifo " + path + " to restore it)");
    return;
  }
  if (!S_ISFIFO(st.st_mode)) {
    problems->push_back(path + " was a named FIFO of the tree and is no FIFO now");
    return;
  }
  // A non-blocking read-only open never waits for a writer, and adds no data.
  UniqueFd probe(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  int bytes = probe.valid() ? buffered_bytes(probe.get()) : -1;
  if (bytes < 0) {
    problems->push_back("FIFO " + path + " of the tree: " + std::strerror(errno));
    return;
  }
  if (bytes > 0) {
    problems->push_back(already_written(path, bytes));
    return;
  }
  if (same_boot && (st.st_dev != fifo.fifo_dev() || st.st_ino != fifo.fifo_ino()))
    notes->push_back("FIFO " + path + " is another FIFO than at the dump (made again); the tree gets this one");
}

Result<UniqueFd> open_fifo_holder(const image::PipeEntry& fifo) {
  const std::string& path = fifo.fifo_path();
  // O_NONBLOCK while refilled: data too large for the FIFO must fail here, not hang. No one else
  // shares this open file, and it is closed once the tree's fds are open.
  UniqueFd holder(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW));
  if (!holder.valid()) return fail_errno("open(" + path + ", O_RDWR)");
  struct stat st;
  if (::fstat(holder.get(), &st) != 0) return fail_errno("fstat(" + path + ")");
  if (!S_ISFIFO(st.st_mode)) return fail(path + " is no FIFO now");
  int bytes = buffered_bytes(holder.get());
  if (bytes < 0) return fail_errno("ioctl(" + path + ", FIONREAD)");
  if (bytes > 0) return fail(already_written(path, bytes));
  if (fifo.capacity() != 0 && ::fcntl(holder.get(), F_SETPIPE_SZ, static_cast<int>(fifo.capacity())) < 0) {
    // Above /proc/sys/fs/pipe-max-size only CAP_SYS_RESOURCE may go; the data may still fit.
    if (fifo.data().size() > static_cast<size_t>(::fcntl(holder.get(), F_GETPIPE_SZ)))
      return fail_errno("fcntl(" + path + ", F_SETPIPE_SZ, " + std::to_string(fifo.capacity()) + ")");
  }
  const char* data = fifo.data().data();
  size_t left = fifo.data().size();
  while (left > 0) {
    ssize_t n = ::write(holder.get(), data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail_errno("write of " + std::to_string(fifo.data().size()) + " buffered bytes to " + path);
    data += n;
    left -= static_cast<size_t>(n);
  }
  return holder;
}

}  // namespace cryo::restore
