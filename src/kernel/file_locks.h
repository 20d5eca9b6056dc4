// File locks as fdinfo's "lock:" lines show them (fs/locks.c lock_get_status), e.g.
//   1: POSIX  ADVISORY  WRITE 14532 fe:00:10952964 5 14
//   1: FLOCK  ADVISORY  READ 14532 fe:00:10952983 0 EOF
//   1: OFDLCK ADVISORY  READ -1 fe:00:10953004 0 EOF
// An fd's fdinfo lists the locks taken through its open file: its flock and OFD locks, and the
// POSIX (fcntl/lockf) locks its process took through it. A restored process gets none of them back
// unless cryo takes them again: another process could then take the lock and write at the same time.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/error.h"

namespace cryo {

enum class FileLockKind { Posix, Ofd, Flock };

struct FileLockInfo {
  FileLockKind kind = FileLockKind::Posix;
  bool write = false;              // WRITE (exclusive) or READ (shared).
  int64_t pid = 0;                 // Owner as the reader sees it; -1 for OFD locks.
  uint64_t start = 0;              // First byte.
  std::optional<uint64_t> end;     // Last byte, inclusive; none for "EOF" (to the end of the file).
};

// One "lock:" value. Leases, delegations and anything else that is not a plain POSIX, OFD or flock
// lock is an error naming it, so a dump refuses what it cannot take again.
Result<FileLockInfo> parse_file_lock(std::string_view text);

}  // namespace cryo
