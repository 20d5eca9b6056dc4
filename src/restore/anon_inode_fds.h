// Recreates inotify fds (inotify_fds.h) and epoll sets from their image state.
#pragma once

#include <cstdint>

#include "base/error.h"
#include "files.pb.h"

namespace cryo::restore {

// True for the kinds create_anon_inode_fd makes (not epoll, whose watches need the other fds first).
bool is_anon_inode_kind(image::FdKind kind);

// Creates the inotify or fanotify fd of `fd` with its state and file status flags, at the
// lowest free number.
Result<int> create_anon_inode_fd(const image::Fd& fd);

// Creates the epoll set of `fd` at the lowest free number, without watches.
Result<int> create_epoll_fd(const image::Fd& fd);

// Adds the watches of `fd` (already open at its number) for fds already open at theirs.
Result<> add_epoll_watches(const image::Fd& fd);

}  // namespace cryo::restore
