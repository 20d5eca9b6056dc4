#include "restore/proc_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "base/unique_fd.h"
#include "kernel/proc_file_path.h"
#include "restore/namespace_files.h"
#include "restore/staged_fds.h"

namespace cryo::restore {

namespace {

constexpr auto kWaitLimit = std::chrono::seconds(10);

// Placeholders fork their children before opening their files, and each waits for nothing but its
// own subtree: a process created later (a younger sibling's) comes while this one waits.
Result<> wait_for_process(uint32_t pid, const std::string& why) {
  std::string process = "/proc/" + std::to_string(pid);
  auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
  while (::access(process.c_str(), F_OK) != 0) {
    if (errno != ENOENT) return fail_errno("access(" + process + ")");
    if (std::chrono::steady_clock::now() > deadline) return fail(why + ": pid " + std::to_string(pid) + " was not created within 10 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return {};
}

// Takes fd `number` of `owner` once it is the file `like` is (same /proc inode): the owner puts it
// there while this process waits.
Result<int> take_from(uint32_t owner, int number, int like, const std::string& what) {
  struct stat want;
  if (::fstat(like, &want) != 0) return fail_errno("fstat");
  RETURN_IF_ERROR(wait_for_process(owner, what));
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, owner, 0)));
  if (!pidfd.valid()) return fail_errno("pidfd_open(" + std::to_string(owner) + ")");
  auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
  for (;;) {
    UniqueFd copy(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), number, 0)));
    struct stat got;
    if (copy.valid() && ::fstat(copy.get(), &got) == 0 && got.st_dev == want.st_dev && got.st_ino == want.st_ino) return copy.release();
    if (!copy.valid() && errno != EBADF) return fail_errno("pidfd_getfd(pid " + std::to_string(owner) + ", fd " + std::to_string(number) + ")");
    if (std::chrono::steady_clock::now() > deadline)
      return fail(what + ": pid " + std::to_string(owner) + " did not open its fd " + std::to_string(number) + " within 10 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Files reopened by what they name in the tree's /proc: its own files, and namespace files.
bool opened_by_name(image::FdKind kind) { return kind == image::FD_PROC_FILE || kind == image::FD_NAMESPACE; }

Result<int> open_by_name(const image::Fd& fd) {
  return fd.kind() == image::FD_NAMESPACE ? open_namespace_file(fd) : open_proc_file(fd);
}

std::string shown_name(const image::Fd& fd) {
  if (fd.kind() == image::FD_NAMESPACE) return "the " + fd.namespace_file().type() + " namespace file";
  return "/proc/" + fd.proc_path();
}

}  // namespace

Result<int> open_proc_file(const image::Fd& fd) {
  // Validation parsed the path already (validate_proc_files); parse again for the PID.
  ASSIGN_OR_RETURN(ProcFilePath parsed, parse_proc_file_path(fd.proc_path()));
  std::string path = fd.proc_path().empty() ? "/proc" : "/proc/" + fd.proc_path();
  if (parsed.pid != 0) RETURN_IF_ERROR(wait_for_process(parsed.pid, path));
  // O_ASYNC is armed by F_SETFL at the fd's number (fd_status.h), like every status flag open
  // does not take.
  int flags = static_cast<int>(fd.flags()) & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_ASYNC);
  int opened = ::open(path.c_str(), flags | O_NOCTTY);
  if (opened < 0) return fail_errno("open(" + path + ")");
  return opened;
}

int proc_file_opened_before(const ProcessImage& process, const image::Fd& fd) {
  return opened_by_name(fd.kind()) ? earlier_fd_of_open_file(process, fd) : -1;
}

Result<int> place_proc_file(const ImageSet& set, const ProcessImage& process, const image::Fd& fd) {
  if (int first = proc_file_opened_before(process, fd); first >= 0) {
    int copy = ::fcntl(first, F_DUPFD, 0);
    if (copy < 0) return fail_errno("fcntl(F_DUPFD)");
    return copy;
  }
  if (fd.open_file_id() != 0) {
    // The first live holder opens it; zombies hold no files.
    for (const auto& holder : set.processes) {
      if (holder.zombie()) continue;
      const image::Fd* held = nullptr;
      for (const auto& other : holder.files.fds())
        if (other.kind() == fd.kind() && other.open_file_id() == fd.open_file_id()) {
          held = &other;
          break;
        }
      if (!held) continue;
      if (holder.pid() == process.pid()) break;  // This process is the first: it opens the file.
      // The file opened here only tells the owner's copy apart from whatever else is at its number.
      ASSIGN_OR_RETURN(int like, open_by_name(fd));
      UniqueFd own(like);
      return take_from(holder.pid(), held->fd(), own.get(), shown_name(fd) + " shared with pid " + std::to_string(holder.pid()));
    }
  }
  return open_by_name(fd);
}

Result<> restore_proc_file_positions(RemoteTask& task, const ProcessImage& process) {
  for (const auto& fd : process.files.fds()) {
    // An O_PATH fd has no position (lseek is EBADF); 0 is where the open left it.
    if (fd.kind() != image::FD_PROC_FILE || fd.pos() == 0 || (fd.flags() & O_PATH)) continue;
    std::string what = "fd " + std::to_string(fd.fd()) + " (/proc/" + fd.proc_path() + "): lseek(" + std::to_string(fd.pos()) + ")";
    ASSIGN_OR_RETURN_CTX(uint64_t at, task.call("lseek", SYS_lseek, {static_cast<uint64_t>(fd.fd()), fd.pos(), SEEK_SET}), what);
    if (at != fd.pos()) return fail(what + " went to " + std::to_string(at));
  }
  return {};
}

}  // namespace cryo::restore
