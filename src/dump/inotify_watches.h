// inotify fds: each watch is read from fdinfo (wd, mask, the watched inode's device, number and file
// handle) and resolved to the path restore re-adds it by. The events a watch queued cannot be read
// back without taking them from the process, so an fd with any queued is refused; so is a watch on
// an inode that has no path any more.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>

#include "base/error.h"
#include "files.pb.h"
#include "kernel/proc_fdinfo.h"

namespace cryo::dump {

// The inode an inotify watch or a fanotify mark is on, as fdinfo shows it.
struct WatchedInode {
  uint64_t ino;
  uint32_t sdev;                // The kernel's dev_t: major << 20 | minor.
  const std::string& handle;    // The file handle's bytes.
  int handle_type;
};

// The path of that inode in the tree's view, found by its file handle through the tree's mounts of
// its device (open_by_handle_at) and checked to lead back to it; `st` gets its stat. Refuses an inode
// without a handle, a deleted one or one no mount reaches, naming it by `name` ("inotify watch 3 ...").
Result<std::string> watched_inode_path(pid_t pid, const std::string& mountinfo, const WatchedInode& inode, const std::string& name,
                                       struct stat* st);

// The bytes of events queued on an inotify or fanotify fd (FIONREAD on a pidfd_getfd copy).
Result<int> queued_event_bytes(pid_t pid, int fd);

// Fills the FD_INOTIFY state of fd `fd` of `pid` from its fdinfo, the watches in increasing wd order.
Result<> collect_inotify(pid_t pid, int fd, const FdInfo& info, image::Fd& out);

}  // namespace cryo::dump
