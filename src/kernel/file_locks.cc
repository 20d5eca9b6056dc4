#include "kernel/file_locks.h"

#include <string>

#include "kernel/proc_text.h"

namespace cryo {

Result<FileLockInfo> parse_file_lock(std::string_view text) {
  auto f = proc_text::fields(text);
  std::string line(text);
  // "ID:" then the kind, its mode, the type, pid, device:inode, start and end.
  if (f.size() < 2) return fail("lock line '" + line + "' is malformed");
  FileLockInfo lock;
  std::string_view kind = f[1];
  if (kind == "POSIX") {
    lock.kind = FileLockKind::Posix;
  } else if (kind == "OFDLCK") {
    lock.kind = FileLockKind::Ofd;
  } else if (kind == "FLOCK") {
    lock.kind = FileLockKind::Flock;
  } else {
    std::string name = kind == "LEASE" || kind == "DELEG" || kind == "BREAKING" || kind == "BREAKER" ? "a file lease" : "a '" + std::string(kind) + "' lock";
    return fail(make_error(name + " (" + line + "), which cryo cannot dump yet"));
  }
  if (f.size() != 8 || f[2] != "ADVISORY") return fail("lock line '" + line + "' is malformed");
  if (f[3] == "WRITE") {
    lock.write = true;
  } else if (f[3] != "READ") {
    return fail(make_error("a lock of type " + std::string(f[3]) + " (" + line + "), which cryo cannot dump yet"));
  }
  ASSIGN_OR_RETURN(lock.pid, proc_text::parse_i64(f[4], "lock pid"));
  ASSIGN_OR_RETURN(lock.start, proc_text::parse_u64(f[6], 10, "lock start"));
  if (f[7] != "EOF") {
    ASSIGN_OR_RETURN(uint64_t end, proc_text::parse_u64(f[7], 10, "lock end"));
    if (end < lock.start) return fail("lock line '" + line + "' ends before it starts");
    lock.end = end;
  }
  return lock;
}

}  // namespace cryo
