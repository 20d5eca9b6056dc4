// The anonymous-inode files cryo dumps whose code is not under state/files/ yet: epoll and inotify (inotify_watches.h). Their state lives in
// the kernel and /proc/PID/fdinfo shows all of it, so they are read without touching the process.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/error.h"
#include "files.pb.h"
#include "kernel/proc_fdinfo.h"

namespace cryo::dump {

// Sets the state of fd `fd` of `pid`, an anonymous inode of `kind` (state/files/fd_kinds.h) whose
// code is not under state/files/ yet, from its fdinfo. For epoll, checks with
// kcmp(KCMP_EPOLL_TFD) that every watched file is still open in the process under the fd number
// it was added with: the kernel keeps watching a file whose fd was closed while another reference
// (a dup, a fork) lives, and restore can only re-add what it can name by an fd.
Result<> collect_anon_inode(pid_t pid, int fd, image::FdKind kind, const FdInfo& info, image::Fd& out);

}  // namespace cryo::dump
