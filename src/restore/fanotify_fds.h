// Recreates a fanotify fd (dump/fanotify_marks.h): fanotify_init with the group's flags and event
// flags, then each inode mark by the path of its inode, checked before and after to be the file of
// the dump (its file handle holds the inode's generation), as an inotify watch is (inotify_fds.h).
#pragma once

#include "base/error.h"
#include "base/unique_fd.h"
#include "files.pb.h"

namespace cryo::restore {

// fanotify_init with the group's flags (the caller then sets the image's status flags) and every mark
// of `state`.
// Fails naming the mark if its path is another file now, or if an event arrived meanwhile (it
// cannot be given back).
Result<UniqueFd> create_fanotify(const image::FanotifyState& state);

}  // namespace cryo::restore
