#include "restore/fifos.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace cryo::restore {
namespace {

// Bytes buffered in the FIFO open at `fd` (which any open of it shares), or -1 with errno.
int buffered_bytes(int fd) {
  int buffered = 0;
  return ::ioctl(fd, FIONREAD, &buffered) == 0 ? buffered : -1;
}

// "/a/b/fifo" -> "/a/b"; "/fifo" -> "/". The path is clean and absolute (validate_image).
std::string parent_directory(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string octal(uint32_t mode) {
  char text[16];
  std::snprintf(text, sizeof text, "%04o", mode);
  return text;
}

// Makes the FIFO that has gone from its path, as the image recorded it. Returns false when something
// is at the path already (made meanwhile by someone else): it is then checked as any other.
Result<bool> make_fifo_if_gone(const image::PipeEntry& fifo) {
  struct stat st;
  if (fifo.fifo_mode() == 0 || ::lstat(fifo.fifo_path().c_str(), &st) == 0 || errno != ENOENT) return false;
  // The mode bits are set exactly on the open FIFO below: the umask may clear some here.
  if (::mkfifo(fifo.fifo_path().c_str(), 0600) != 0) {
    if (errno == EEXIST) return false;
    return fail_errno("mkfifo(" + fifo.fifo_path() + ")");
  }
  return true;
}

// The owner first: chown clears the set-user-ID and set-group-ID bits that chmod then sets.
Result<> give_fifo_its_owner_and_mode(int fd, const image::PipeEntry& fifo) {
  const std::string& path = fifo.fifo_path();
  if (::fchown(fd, fifo.fifo_uid(), fifo.fifo_gid()) != 0)
    return fail_errno("fchown(" + path + ", " + std::to_string(fifo.fifo_uid()) + ", " + std::to_string(fifo.fifo_gid()) + ")");
  if (::fchmod(fd, fifo.fifo_mode() & 07777) != 0) return fail_errno("fchmod(" + path + ", " + octal(fifo.fifo_mode() & 07777) + ")");
  return {};
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
    int err = errno;
    if (err == ENOENT && fifo.fifo_mode() != 0) {
      // Made again at restore, in its directory, which must be there: cryo makes no directories.
      std::string parent = parent_directory(path);
      struct stat dir;
      if (::stat(parent.c_str(), &dir) != 0 || !S_ISDIR(dir.st_mode)) {
        problems->push_back("FIFO " + path + " of the tree is gone and cannot be made again: its directory " + parent + " is missing");
        return;
      }
      notes->push_back("FIFO " + path + " is gone; restore makes it again (mode " + octal(fifo.fifo_mode() & 07777) + ", owner " +
                       std::to_string(fifo.fifo_uid()) + ":" + std::to_string(fifo.fifo_gid()) + ")");
      return;
    }
    problems->push_back("FIFO " + path + " of the tree: " + std::strerror(err) + " (mkfifo " + path + " to restore it)");
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
  ASSIGN_OR_RETURN(bool made, make_fifo_if_gone(fifo));
  UniqueFd holder(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW));
  if (!holder.valid()) return fail_errno("open(" + path + ", O_RDWR)");
  struct stat st;
  if (::fstat(holder.get(), &st) != 0) return fail_errno("fstat(" + path + ")");
  if (!S_ISFIFO(st.st_mode)) return fail(path + " is no FIFO now");
  if (made) RETURN_IF_ERROR(give_fifo_its_owner_and_mode(holder.get(), fifo));
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
