#include "restore/file_locks.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/syscall.h>

#include <cerrno>

namespace cryo::restore {
namespace {

std::string describe(const image::FileLock& lock, const image::Fd& fd) {
  std::string kind = lock.kind() == image::FileLock::POSIX ? "POSIX" : lock.kind() == image::FileLock::OFD ? "OFD" : "flock";
  std::string range = lock.kind() == image::FileLock::FLOCK ? ""
                      : lock.length() == 0 ? " from byte " + std::to_string(lock.start()) + " to the end"
                                           : " on bytes " + std::to_string(lock.start()) + "-" + std::to_string(lock.start() + lock.length() - 1);
  return std::string(lock.write() ? "write" : "read") + " " + kind + " lock" + range + " of fd " + std::to_string(fd.fd()) +
         " (" + fd.path() + ")";
}

}  // namespace

Result<> take_file_locks(RemoteTask& task, const ProcessImage& process) {
  for (const auto& fd : process.files.fds())
    for (const auto& lock : fd.locks()) {
      Result<uint64_t> taken;
      if (lock.kind() == image::FileLock::FLOCK) {
        uint64_t op = (lock.write() ? LOCK_EX : LOCK_SH) | LOCK_NB;
        taken = task.call("flock", SYS_flock, {static_cast<uint64_t>(fd.fd()), op});
      } else {
        struct flock range{};
        range.l_type = lock.write() ? F_WRLCK : F_RDLCK;
        range.l_whence = SEEK_SET;
        range.l_start = static_cast<off_t>(lock.start());
        range.l_len = static_cast<off_t>(lock.length());
        task.reset_scratch();
        ASSIGN_OR_RETURN(uint64_t remote, task.put(&range, sizeof range));
        uint64_t command = lock.kind() == image::FileLock::POSIX ? F_SETLK : F_OFD_SETLK;
        taken = task.call("fcntl(F_SETLK)", SYS_fcntl, {static_cast<uint64_t>(fd.fd()), command, remote});
      }
      if (taken) continue;
      Error e = taken.error().context("the " + describe(lock, fd));
      if (e.err == EAGAIN || e.err == EACCES || e.err == EWOULDBLOCK)
        e = e.with_hint("another process holds a conflicting lock on that file now (is the dumped tree still running?)");
      return fail(e);
    }
  return {};
}

}  // namespace cryo::restore
