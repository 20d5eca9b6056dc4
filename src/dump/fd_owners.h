// The O_ASYNC side of an fd's open file: its owner (F_GETOWN_EX), who gets the signal when I/O is
// possible (and a socket's SIGURG), and the signal itself (F_GETSIG). Neither shows in /proc, so
// both are read through a copy of the fd (pidfd_getfd), which shares the open file.
#pragma once

#include <sys/types.h>

#include <map>

#include "base/error.h"
#include "dump/process_core.h"
#include "files.pb.h"

namespace cryo::dump {

// Fills out.signal and, where an owner is set, out.owner with the owner as cryo's PID namespace sees
// it (translate_fd_owners turns it into the tree's view). `pidfd` is a pidfd of `pid`.
Result<> collect_fd_owner(int pidfd, image::Fd& out);

// Turns every owner into the tree's view, by the owner's NSpid (NSpgid for a process group). Refuses,
// naming the fd, an owner outside the tree, and a thread owner that restore could not name when it
// sets the owner (a thread other than a process's first, of a process that does not hold the fd
// alone: its thread may not exist yet when another holder is restored). Runs once every fd of the
// tree is read and mark_shared_open_files has run.
Result<> translate_fd_owners(std::map<pid_t, image::ProcessFiles>& files, const std::map<pid_t, uint32_t>& inside,
                             const PidTranslation& pids);

}  // namespace cryo::dump
