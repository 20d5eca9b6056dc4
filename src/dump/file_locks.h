// Dump half of file locks (kernel/file_locks.h): what fdinfo lists for one fd, into its image.
#pragma once

#include <sys/types.h>

#include "base/error.h"
#include "files.pb.h"
#include "kernel/proc_fdinfo.h"

namespace cryo::dump {

// Adds the locks of `info` to `out`. A POSIX lock is shown on the fd it was taken through, with its
// owner's PID: one owned by another process (which shares the fd table) is refused, as are leases.
Result<> collect_file_locks(pid_t pid, const FdInfo& info, image::Fd& out);

}  // namespace cryo::dump
