// Open files that several fds share are created once, before the tree's init is cloned: every pipe
// (with its buffered bytes written back), every unix socketpair (with the data queued to each end
// sent again through the other), every unix listener with the connections it had accepted from
// clients of the tree (unix_listeners.h), every unix datagram socket, bound, connected by name or
// neither (unix_datagrams.h), every netlink socket (state/files/netlink_socket.h), and every file whose open file description is shared by
// more than one fd of the image (dup, fork). They sit at high fd numbers that every placeholder
// inherits; each placeholder copies the ones it had to their numbers and closes the rest, so the
// same processes share the same pipes and file positions again.
#pragma once

#include <cstdint>
#include <map>

#include "base/error.h"
#include "image/image_set.h"
#include "ns/time_namespace.h"
#include "state/files/fd_kinds.h"
#include "state/files/staged_files.h"

namespace cryo::restore {

// The staged fds live with the fd kinds that stage them (state/files/staged_files.h).
using state::StagedFds;
using state::StagedPipe;

// The lowest fd number above every fd number of the image: where cryo's own inherited fds go.
int staging_fd_base(const ImageSet& set);

// The image fds whose open file is shared with another fd: the first fd of each open_file_id that
// appears more than once, of the kinds the helper opens once (FdSharing::OpenedOnce in
// state/files/fd_kinds.h: regular files, directories, devices, memfds, eventfds, timerfds, signalfds,
// epoll sets, inotify and fanotify fds; pipes and sockets are staged by their own ids, a /proc file,
// namespace file or pidfd, shared only within its process, is dup'ed there; a POSIX message queue exists only
// in the tree's IPC namespace, whose init stages its shared open files).
std::map<uint64_t, const image::Fd*> shared_open_files(const ImageSet& set);

// Opens a regular file, directory, device or POSIX message queue the way the image fd had it (flags
// and position), or creates the fd of a kind with an install step (state/files/fd_kinds.h) with its
// state, installed `at` (memfds and deleted files are reopened from their object in `at.staged`).
// Returns the new fd, at the lowest free number.
Result<int> open_like(const image::Fd& fd, const state::FdInstall& at);

// Creates every pipe, socket and shared open file at fd numbers >= min_fd: the stage step of each fd
// kind that has one (state/files/fd_kinds.h), in the table's order, then the sockets, then the shared
// open files. For use in the single-threaded
// helper that then clones the tree (outside the tree's time namespace; `offsets` are the tree's
// clocks minus the helper's own);
// the fds are not close-on-exec. `made_by_cryo` holds the memory objects cryo made (objects and
// objects_opened_by_name); the result holds them too.
Result<StagedFds> stage_fds(const ImageSet& set, int min_fd, const StagedFds& made_by_cryo, const ClockOffsets& offsets);

}  // namespace cryo::restore
