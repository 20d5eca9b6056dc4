#include "dump/dump_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <string>

namespace cryo::dump {
namespace {

constexpr const char* kLockDir = "/run/cryo";

}  // namespace

std::string dump_lock_path(uint64_t pidns_inode) {
  return std::string(kLockDir) + "/dump-pidns-" + std::to_string(pidns_inode) + ".lock";
}

Result<DumpLock> DumpLock::acquire(uint64_t pidns_inode, pid_t init) {
  if (::mkdir(kLockDir, 0700) != 0 && errno != EEXIST) return fail_errno(std::string("mkdir(") + kLockDir + ")");
  std::string path = dump_lock_path(pidns_inode);
  // The file is never removed: unlinking a lock file while another process waits on it would let
  // two holders each lock a different inode.
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return fail_errno("open(" + path + ")");
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return fail(make_error("another cryo dump of the tree of PID " + std::to_string(init) + " is running")
                      .with_hint("wait for it to finish"));
    return fail_errno("flock(" + path + ")");
  }
  return DumpLock(std::move(fd));
}

}  // namespace cryo::dump
