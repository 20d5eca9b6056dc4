// Open files that several fds share are created once, before the tree's init is cloned: every pipe
// (with its buffered bytes written back), every unix socketpair (with the data queued to each end
// sent again through the other), every unix listener with the connections it had accepted from
// clients of the tree (unix_listeners.h), every unix datagram socket, bound, connected by name or
// neither (unix_datagrams.h), every netlink socket (netlink_sockets.h), and every file whose open file description is shared by
// more than one fd of the image (dup, fork). They sit at high fd numbers that every placeholder
// inherits; each placeholder copies the ones it had to their numbers and closes the rest, so the
// same processes share the same pipes and file positions again.
#pragma once

#include <cstdint>
#include <map>
#include <utility>

#include "base/error.h"
#include "ns/time_namespace.h"
#include "image/image_set.h"

namespace cryo::restore {

struct StagedPipe {
  int read_fd = -1;
  int write_fd = -1;
  bool fifo = false;  // A named FIFO: both are cryo's O_RDWR holder, closed once staging is done (fifos.h).
};

struct StagedFds {
  std::map<uint64_t, StagedPipe> pipes;  // By pipe_id; anonymous pipes only once staging is done.
  // Every pipe fd of the image, by (pid, fd number): the open file it gets a copy of. The fds that
  // shared an open file share one again; other open files of the same end (a reopen through
  // /proc/PID/fd, an O_RDWR one) are opened again the same way, so each keeps its own flags.
  std::map<std::pair<uint32_t, int>, int> pipe_files;
  std::map<uint64_t, int> files;         // By open_file_id, for ids used by more than one fd.
  std::map<uint64_t, int> objects;       // Memory objects by id (memory_objects.h), made by cryo itself.
  std::map<const image::Fd*, int> objects_opened_by_name;  // MemoryObjects::opened_by_name.
  std::map<uint64_t, int> sockets;       // Unix socket ends and listeners, TCP listeners, netlink sockets, by socket_id.
};

// The lowest fd number above every fd number of the image: where cryo's own inherited fds go.
int staging_fd_base(const ImageSet& set);

// The image fds whose open file is shared with another fd: the first fd of each open_file_id that
// appears more than once, of the kinds the helper opens once (FdSharing::OpenedOnce in
// state/files/fd_kinds.h: regular files, directories, devices, memfds, eventfds, timerfds, signalfds,
// inotify and fanotify fds; pipes and sockets are staged by their own ids, an epoll set, /proc file or
// namespace file, shared only within its process, is dup'ed there; a POSIX message queue exists only
// in the tree's IPC namespace, whose init stages its shared open files).
std::map<uint64_t, const image::Fd*> shared_open_files(const ImageSet& set);

// Opens a regular file, directory, device, memfd or deleted file the way the image fd had it (flags
// and position), or creates an eventfd, timerfd or signalfd with its state. Memfds and deleted
// files are reopened from their object in `staged`; `tree_minus_caller`: see FdKindOps::install (state/files/fd_kinds.h).
// Returns the new fd, at the lowest free number.
Result<int> open_like(const image::Fd& fd, const StagedFds& staged, const ClockOffsets& tree_minus_caller);

// Creates every pipe and shared open file at fd numbers >= min_fd. For use in the single-threaded
// helper that then clones the tree (outside the tree's time namespace; `offsets` are the tree's
// clocks minus the helper's own);
// the fds are not close-on-exec. `made_by_cryo` holds the memory objects cryo made (objects and
// objects_opened_by_name); the result holds them too.
Result<StagedFds> stage_fds(const ImageSet& set, int min_fd, const StagedFds& made_by_cryo, const ClockOffsets& offsets);

}  // namespace cryo::restore
