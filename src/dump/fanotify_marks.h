// fanotify fds: the group's fanotify_init flags and event flags and each inode mark (FAN_MARK_* flags,
// event mask, the marked inode's device, number and file handle) read from fdinfo, each inode
// resolved to its path as an inotify watch's is (inotify_watches.h).
//
// Refused, naming the fd or the mark: events queued (they cannot be read back without taking them
// from the process); a group of a permission class (FAN_CLASS_CONTENT, FAN_CLASS_PRE_CONTENT: its
// events wait for the process's answer); mount and filesystem marks; ignore masks; a mark on an inode
// without a path.
#pragma once

#include <sys/types.h>

#include "base/error.h"
#include "files.pb.h"
#include "kernel/proc_fdinfo.h"

namespace cryo::dump {

// Fills the FD_FANOTIFY state of fd `fd` of `pid` from its fdinfo, the marks in fdinfo's order.
Result<> collect_fanotify(pid_t pid, int fd, const FdInfo& info, image::Fd& out);

}  // namespace cryo::dump
