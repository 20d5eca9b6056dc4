#include "restore/proc_files.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "kernel/proc_file_path.h"

namespace cryo::restore {

Result<int> open_proc_file(const image::Fd& fd) {
  // Validation parsed the path already (validate_proc_files); parse again for the PID.
  ASSIGN_OR_RETURN(ProcFilePath parsed, parse_proc_file_path(fd.proc_path()));
  std::string path = fd.proc_path().empty() ? "/proc" : "/proc/" + fd.proc_path();
  if (parsed.pid != 0) {
    // Placeholders fork their children before opening their files, and each waits for nothing but
    // its own subtree: a process created later (a younger sibling's) comes while this one waits.
    std::string process = "/proc/" + std::to_string(parsed.pid);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (::access(process.c_str(), F_OK) != 0) {
      if (errno != ENOENT) return fail_errno("access(" + process + ")");
      if (std::chrono::steady_clock::now() > deadline)
        return fail(path + ": pid " + std::to_string(parsed.pid) + " was not created within 10 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  // O_ASYNC is armed by F_SETFL at the fd's number (fd_status.h), like every status flag open
  // does not take.
  int flags = static_cast<int>(fd.flags()) & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_ASYNC);
  int opened = ::open(path.c_str(), flags | O_NOCTTY);
  if (opened < 0) return fail_errno("open(" + path + ")");
  return opened;
}

int proc_file_opened_before(const ProcessImage& process, const image::Fd& fd) {
  if (fd.kind() != image::FD_PROC_FILE || fd.open_file_id() == 0) return -1;
  for (const auto& earlier : process.files.fds()) {
    if (&earlier == &fd) break;
    if (earlier.kind() == image::FD_PROC_FILE && earlier.open_file_id() == fd.open_file_id()) return earlier.fd();
  }
  return -1;
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
