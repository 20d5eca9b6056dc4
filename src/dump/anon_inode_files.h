// The anonymous-inode files cryo dumps whose code is not under state/files/ yet: inotify
// (inotify_watches.h) and fanotify (fanotify_marks.h). Their state lives in the kernel and
// /proc/PID/fdinfo shows it, so they are read without touching the process.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/error.h"
#include "files.pb.h"
#include "kernel/proc_fdinfo.h"

namespace cryo::dump {

// Sets the state of fd `fd` of `pid`, an anonymous inode of `kind` (state/files/fd_kinds.h) whose
// code is not under state/files/ yet, from its fdinfo.
Result<> collect_anon_inode(pid_t pid, int fd, image::FdKind kind, const FdInfo& info, image::Fd& out);

}  // namespace cryo::dump
