// /proc/PID/fdinfo/N: position and open flags of one file descriptor.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string_view>

#include "base/error.h"

namespace cryo {

struct FdInfo {
  uint64_t pos = 0;
  uint32_t flags = 0;   // Open flags as the kernel keeps them, O_CLOEXEC included when set.
  int mnt_id = 0;
  uint64_t ino = 0;     // Absent on kernels before 5.x; 0 then.
};

// Parses the common lines of fdinfo text ("pos:", "flags:" in octal, "mnt_id:", "ino:"); the
// kind-specific lines that follow (eventfd-count, tfd, inotify ...) are ignored.
Result<FdInfo> parse_proc_fdinfo(std::string_view text);
Result<FdInfo> read_proc_fdinfo(pid_t pid, int fd);

}  // namespace cryo
