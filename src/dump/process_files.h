// files-<pid>.img: the open file descriptors, working directory and root of one process.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "dump/memory_objects.h"
#include "files.pb.h"

namespace cryo::dump {

// One end of a pipe held by a process of the tree; pipes.img is built from all of them.
struct PipeEnd {
  uint64_t pipe_id = 0;
  pid_t pid = 0;      // Host PID of the holder.
  int fd = -1;
  uint32_t flags = 0; // Open flags: O_RDONLY, O_WRONLY or (after a reopen through /proc) O_RDWR.
  // A named FIFO: its path and the FIFO file's device and inode (pipe_id is that inode). Empty for
  // an anonymous pipe.
  std::string fifo_path;
  uint64_t fifo_dev = 0;
  // The FIFO file's st_mode and owner, for restore to make it again where it has gone.
  uint32_t fifo_mode = 0;
  uint32_t fifo_uid = 0;
  uint32_t fifo_gid = 0;
};

// Collects every fd of a process: files, directories, devices, pipes, eventfds, timerfds, signalfds,
// epoll sets, inotify fds, unix socketpair ends, named FIFOs (pipe ends with a path), memfds and
// deleted files. Refuses, naming the fd and its kind, what restore cannot reopen yet: other sockets
// (unix_sockets.h), other anonymous inodes (fanotify, pidfd, ...), unlinked FIFOs, block devices.
// Appends the pipe ends it finds to `pipes`; memfds and
// deleted files go to `objects` (stored once per inode), and their fds name the object.
Result<image::ProcessFiles> collect_files(pid_t pid, std::vector<PipeEnd>& pipes, MemoryObjectCollector& objects);

}  // namespace cryo::dump
