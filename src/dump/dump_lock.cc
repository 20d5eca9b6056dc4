#include "dump/dump_lock.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace cryo::dump {
namespace {

constexpr const char* kLockDir = "/run/cryo";
constexpr int kBusyRetries = 20;
constexpr useconds_t kBusyRetryMicros = 5000;

// True when `fd` (locked) is still the file at `path`: not unlinked by a holder that finished.
bool still_linked(int fd, const std::string& path) {
  struct stat held, named;
  if (::fstat(fd, &held) != 0 || ::lstat(path.c_str(), &named) != 0) return false;
  return held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

}  // namespace

std::string dump_lock_path(uint64_t pidns_inode) {
  return std::string(kLockDir) + "/dump-pidns-" + std::to_string(pidns_inode) + ".lock";
}

void remove_stale_dump_locks(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* entry = ::readdir(d)) {
    std::string name = entry->d_name;
    if (!name.starts_with("dump-pidns-") || !name.ends_with(".lock")) continue;
    std::string path = dir + "/" + name;
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd.valid()) continue;
    // Locked by us, it is held by no dump; unlinked while locked, no one can take it any more.
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0 && still_linked(fd.get(), path)) ::unlink(path.c_str());
  }
  ::closedir(d);
}

Result<DumpLock> DumpLock::acquire(uint64_t pidns_inode, pid_t init) {
  if (::mkdir(kLockDir, 0700) != 0 && errno != EEXIST) return fail_errno(std::string("mkdir(") + kLockDir + ")");
  remove_stale_dump_locks(kLockDir);
  std::string path = dump_lock_path(pidns_inode);
  int busy_attempts = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) return fail_errno("open(" + path + ")");
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK) return fail_errno("flock(" + path + ")");
      // Another cryo's remove_stale_dump_locks holds every free lock file for a few microseconds
      // while it checks it; a dump holds it for its whole run. Only a lock still held after
      // kBusyRetries short waits is a dump.
      if (++busy_attempts > kBusyRetries)
        return fail(make_error("another cryo dump of the tree of PID " + std::to_string(init) + " is running")
                        .with_hint("wait for it to finish"));
      ::usleep(kBusyRetryMicros);
      continue;
    }
    // The previous holder may have removed the file between our open and our flock: try again.
    if (still_linked(fd.get(), path)) return DumpLock(std::move(fd), path);
  }
  return fail("cannot take the dump lock " + path + ": it keeps being replaced");
}

DumpLock::~DumpLock() {
  // Unlinked while still locked, so no one can lock this file and believe it holds the tree.
  if (fd_.valid()) ::unlink(path_.c_str());
}

}  // namespace cryo::dump
