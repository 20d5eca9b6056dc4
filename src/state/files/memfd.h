// memfds and files deleted while open: the dump stores each file once as a memory object of
// objects.img (dump/memory_objects.h), and its fds name the object. Restore makes every object before
// the helper stages anything (restore/memory_objects.h: memfd_create with its seals, or an O_TMPFILE
// in the deleted file's directory), so the staged fds hold them (StagedFds::objects); the install step
// gives each fd its own open file of its object, with the fd's flags and position.
#pragma once

#include "base/error.h"
#include "files.pb.h"
#include "state/files/fd_kinds.h"

namespace cryo::state {

// A new open file of the object behind `object_fd` (reopened through /proc/self/fd, so it has its
// own position and status flags), with the fd's flags and position. `opened_by_name` (not -1) is
// the fd's own open file, made with the object (StagedFds::objects_opened_by_name): a copy of it is
// returned instead.
Result<int> reopen_object(const image::Fd& fd, int object_fd, int opened_by_name = -1);

// The install step of a memfd or deleted-file fd: reopens its object among `at.staged`.
Result<int> install_memory_object_fd(const image::Fd& fd, const FdInstall& at);

}  // namespace cryo::state
