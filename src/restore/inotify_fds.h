// Recreates an inotify fd with the same watches under the same watch descriptors.
//
// The kernel hands out wds cyclically (idr_alloc_cyclic from 1): each new watch gets the number after
// the last one given, even if lower ones were freed since. So the watches are added in increasing wd
// order, and a gap (a watch the process removed) is filled by a throwaway watch, removed at once. Its
// removal queues an IN_IGNORED event, which is read off before the fd is handed over.
//
// What does not come back: the kernel's cursor itself. After restore the next watch gets the number
// after the highest live one, while the dumped fd would have skipped numbers of watches added and
// removed after it; a process cannot tell, as long as it does not expect a particular number.
#pragma once

#include "base/error.h"
#include "base/unique_fd.h"
#include "files.pb.h"

namespace cryo::restore {

// Whether `watch.path()` is the inode the watch was on at dump: its file handle (which holds the
// inode's generation: an inode number is reused at once by a file created after a delete) and
// device, inode and type. The error names the watch and the path. Used by the host check, before
// anything is created, and again right before and after the watch is added.
Result<> check_watched_file(const image::InotifyWatch& watch);

// The same check for any inode found again by path (a fanotify mark's too): `name` names it in errors.
Result<> check_same_inode(const std::string& path, const image::FileIdentity& identity, const std::string& handle, int handle_type,
                          const std::string& name);

// inotify_init1 (non-blocking; the caller sets the image's status flags) and every watch of `state`,
// each checked to be on the file of the dump's identity and to get the dump's wd. Fails naming the
// watch otherwise, or if an event other than a throwaway watch's IN_IGNORED arrived meanwhile.
Result<UniqueFd> create_inotify(const image::InotifyState& state);

}  // namespace cryo::restore
