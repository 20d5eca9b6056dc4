// An fd's file status flags (O_NONBLOCK, O_APPEND, O_DIRECT, O_NOATIME, O_ASYNC ...), its O_ASYNC
// signal and its owner. The flags that only open can give (the access mode, O_SYNC, O_DSYNC,
// O_PATH, O_LARGEFILE) were given when the open file was made (staged_fds.h); the rest is set here.
#pragma once

#include "base/error.h"
#include "files.pb.h"
#include "image/image_set.h"
#include "ptrace/remote_task.h"

namespace cryo::restore {

// In the placeholder, once the fd is at its number: O_ASYNC records the number it was set through,
// and its signals name the fd by it (si_fd). Then F_GETFL must read exactly the image's flags: a flag
// that F_SETFL cannot set and the open did not give is an error naming the fd, never a silent change.
Result<> set_fd_status(const image::Fd& fd);

// F_SETOWN_EX for every fd of the process that had an owner, injected once every process of the
// tree and every thread of this one exist (the owner is named by its PID in the tree) and after the
// process has its own credentials again: the kernel keeps the setter's credentials with the owner
// and checks them when it sends the signal.
Result<> restore_fd_owners(RemoteTask& task, const ProcessImage& process);

}  // namespace cryo::restore
