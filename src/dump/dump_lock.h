// One dump of a tree at a time: an exclusive flock on /run/cryo/dump-pidns-<inode>.lock, held for
// the whole dump and released when the object dies (or the process exits, whatever the cause).
// The holder removes the file when it is done, and each dump removes the files that dead cryos
// left (one it can lock is held by no one). Whoever locks a file checks afterwards that it is still
// the one at the path: a file unlinked between the open and the flock is not a lock any more.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace cryo::dump {

class DumpLock {
 public:
  // Fails at once (no waiting) when another cryo holds the lock of this PID namespace.
  static Result<DumpLock> acquire(uint64_t pidns_inode, pid_t init);
  DumpLock(DumpLock&& other) noexcept = default;
  DumpLock& operator=(DumpLock&&) = delete;
  // Removes the lock file, then releases the lock.
  ~DumpLock();

 private:
  DumpLock(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

// Removes the lock files in `dir` that no process holds (left by cryos that were killed).
void remove_stale_dump_locks(const std::string& dir);

// The lock file of a PID namespace (tests use it to simulate a concurrent dump).
std::string dump_lock_path(uint64_t pidns_inode);

}  // namespace cryo::dump
