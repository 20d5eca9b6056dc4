// The anonymous-inode files cryo dumps: eventfd, timerfd, signalfd, epoll and inotify (inotify_watches.h). Their state lives in
// the kernel and /proc/PID/fdinfo shows all of it, so they are read without touching the process.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/error.h"
#include "files.pb.h"
#include "kernel/proc_fdinfo.h"

namespace cryo::dump {

// Whether cryo dumps anonymous inodes named `name` (the part of "anon_inode:[name]" in brackets).
bool is_dumpable_anon_inode(const std::string& name);

// Sets the kind and state of fd `fd` of `pid` from its fdinfo. For epoll, checks with
// kcmp(KCMP_EPOLL_TFD) that every watched file is still open in the process under the fd number
// it was added with: the kernel keeps watching a file whose fd was closed while another reference
// (a dup, a fork) lives, and restore can only re-add what it can name by an fd.
Result<> collect_anon_inode(pid_t pid, int fd, const std::string& name, const FdInfo& info, image::Fd& out);

}  // namespace cryo::dump
