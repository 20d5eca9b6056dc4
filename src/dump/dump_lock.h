// One dump of a tree at a time: an exclusive flock on /run/cryo/dump-pidns-<inode>.lock, held for
// the whole dump and released when the object dies (or the process exits, whatever the cause).
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

 private:
  explicit DumpLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// The lock file of a PID namespace (tests use it to simulate a concurrent dump).
std::string dump_lock_path(uint64_t pidns_inode);

}  // namespace cryo::dump
