// files-<pid>.img: the open file descriptors, working directory and root of one process.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "dump/memory_objects.h"
#include "files.pb.h"
#include "state/files/pipe.h"

namespace cryo::dump {

using state::PipeEnd;  // state/files/pipe.h

// Collects every fd of a process: files, directories, devices, pipes, eventfds, timerfds, signalfds,
// epoll sets, inotify fds, unix socketpair ends, named FIFOs (pipe ends with a path), memfds and
// deleted files. Refuses, naming the fd and its kind, what restore cannot reopen yet: other sockets
// (unix_sockets.h), other anonymous inodes (fanotify, pidfd, ...), unlinked FIFOs, block devices.
// Appends the pipe ends it finds to `pipes`; memfds and
// deleted files go to `objects` (stored once per inode), and their fds name the object. `freeze`:
// the kernel's clocks at the freeze, which timerfds' time left is taken back to (nullptr: as read).
Result<image::ProcessFiles> collect_files(pid_t pid, std::vector<PipeEnd>& pipes, MemoryObjectCollector& objects,
                                          const image::ClockReadings* freeze);

}  // namespace cryo::dump
