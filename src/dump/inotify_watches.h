// inotify fds: each watch is read from fdinfo (wd, mask, the watched inode's device, number and file
// handle) and resolved to the path restore re-adds it by. The events a watch queued cannot be read
// back without taking them from the process, so an fd with any queued is refused; so is a watch on
// an inode that has no path any more.
#pragma once

#include <sys/types.h>

#include "base/error.h"
#include "files.pb.h"
#include "kernel/proc_fdinfo.h"

namespace cryo::dump {

// Fills the FD_INOTIFY state of fd `fd` of `pid` from its fdinfo, the watches in increasing wd order.
Result<> collect_inotify(pid_t pid, int fd, const FdInfo& info, image::Fd& out);

}  // namespace cryo::dump
