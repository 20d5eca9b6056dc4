#include "dump/file_locks.h"

#include "kernel/file_locks.h"

namespace cryo::dump {

Result<> collect_file_locks(pid_t pid, const FdInfo& info, image::Fd& out) {
  for (const std::string& line : info.locks) {
    ASSIGN_OR_RETURN(FileLockInfo lock, parse_file_lock(line));
    if (lock.kind == FileLockKind::Posix && lock.pid != pid)
      return fail(make_error("a POSIX lock held by pid " + std::to_string(lock.pid) + " (" + line + "), which cryo cannot dump yet"));
    image::FileLock* l = out.add_locks();
    l->set_kind(lock.kind == FileLockKind::Posix ? image::FileLock::POSIX
                : lock.kind == FileLockKind::Ofd ? image::FileLock::OFD
                                                 : image::FileLock::FLOCK);
    l->set_write(lock.write);
    l->set_start(lock.start);
    l->set_length(lock.end ? *lock.end - lock.start + 1 : 0);
  }
  return {};
}

}  // namespace cryo::dump
