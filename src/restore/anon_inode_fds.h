// Recreates inotify fds (inotify_fds.h) from their image state.
#pragma once

#include <cstdint>

#include "base/error.h"
#include "files.pb.h"

namespace cryo::restore {

// True for the kinds create_anon_inode_fd makes.
bool is_anon_inode_kind(image::FdKind kind);

// Creates the inotify or fanotify fd of `fd` with its state and file status flags, at the
// lowest free number.
Result<int> create_anon_inode_fd(const image::Fd& fd);

}  // namespace cryo::restore
