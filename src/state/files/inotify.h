// inotify fds. Dump: each watch is read from fdinfo (wd, mask, the watched inode's device, number and
// file handle) and resolved to the path restore re-adds it by (watched_inode.h). The events a watch
// queued cannot be read back without taking them from the process, so an fd with any queued is
// refused; so is a watch on an inode that has no path any more.
//
// Restore recreates the fd with the same watches under the same watch descriptors. The kernel hands
// out wds cyclically (idr_alloc_cyclic from 1): each new watch gets the number after the last one
// given, even if lower ones were freed since. So the watches are added in increasing wd order, and a
// gap (a watch the process removed) is filled by a throwaway watch, removed at once. Its removal
// queues an IN_IGNORED event, which is read off before the fd is handed over.
//
// What does not come back: the kernel's cursor itself. After restore the next watch gets the number
// after the highest live one, while the dumped fd would have skipped numbers of watches added and
// removed after it; a process cannot tell, as long as it does not expect a particular number.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "files.pb.h"
#include "state/files/fd_kinds.h"

namespace cryo::state {

// Dump: the FD_INOTIFY state of the fd from its fdinfo, the watches in increasing wd order.
Result<> collect_inotify(const FdCollect& in, image::Fd& out);
// Validation: ascending positive wds, known mask bits, clean paths, one watch per inode.
void validate_inotify(const image::Fd& fd, const std::set<int>& numbers, const std::string& name, std::vector<std::string>* problems);
// Whether `watch.path()` is the inode the watch was on at dump (check_same_inode). Used by the host
// check, before anything is created, and again right before and after the watch is added.
Result<> check_watched_file(const image::InotifyWatch& watch);
// Restore: inotify_init1 and every watch, each checked to be on the file of the dump's identity and
// to get the dump's wd. Fails naming the watch otherwise, or if an event other than a throwaway
// watch's IN_IGNORED arrived meanwhile.
Result<int> install_inotify(const image::Fd& fd, const FdInstall& at);

}  // namespace cryo::state
