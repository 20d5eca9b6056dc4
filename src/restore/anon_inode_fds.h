// Recreates timerfds, signalfds, inotify fds (inotify_fds.h) and epoll sets from their image state.
#pragma once

#include <cstdint>

#include "base/error.h"
#include "files.pb.h"
#include "ns/time_namespace.h"

namespace cryo::restore {

// True for the kinds create_anon_inode_fd makes (not epoll, whose watches need the other fds first).
bool is_anon_inode_kind(image::FdKind kind);

// Creates the timerfd, signalfd or inotify fd of `fd` with its state and file status flags, at the
// lowest free number. `tree_minus_caller` is the tree's time namespace offsets as seen from the
// caller's clocks: zero inside the tree's time namespace, the new offsets in the helper outside it.
// A timer is armed here and runs from now on, like every clock of the tree after restore.
Result<int> create_anon_inode_fd(const image::Fd& fd, const ClockOffsets& tree_minus_caller);

// Creates the epoll set of `fd` at the lowest free number, without watches.
Result<int> create_epoll_fd(const image::Fd& fd);

// Adds the watches of `fd` (already open at its number) for fds already open at theirs.
Result<> add_epoll_watches(const image::Fd& fd);

}  // namespace cryo::restore
