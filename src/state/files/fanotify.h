// fanotify fds. Dump: the group's fanotify_init flags and event flags and each inode mark (FAN_MARK_*
// flags, event mask, the marked inode's device, number and file handle) read from fdinfo, each inode
// resolved to its path as an inotify watch's is (watched_inode.h). Refused, naming the fd or the
// mark: events queued (they cannot be read back without taking them from the process); a group of a
// permission class (FAN_CLASS_CONTENT, FAN_CLASS_PRE_CONTENT: its events wait for the process's
// answer); mount and filesystem marks; ignore masks; a mark on an inode without a path.
//
// Restore: fanotify_init with the group's flags and event flags, then each inode mark by the path of
// its inode, checked before and after to be the file of the dump (its file handle holds the inode's
// generation).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "files.pb.h"
#include "state/files/fd_kinds.h"

namespace cryo::state {

// Dump: the FD_FANOTIFY state of the fd from its fdinfo, the marks in fdinfo's order.
Result<> collect_fanotify(const FdCollect& in, image::Fd& out);
// Validation: known init flags of the notification class, event flags an event fd may be opened
// with, and inode marks with known bits, a clean path, the marked file's identity and its handle.
void validate_fanotify(const image::Fd& fd, const std::set<int>& numbers, const std::string& name, std::vector<std::string>* problems);
// Whether `mark.path()` is the inode the mark was on at dump (check_same_inode): the host check asks
// before anything is created, and the install before and after it adds the mark.
Result<> check_marked_file(const image::FanotifyMark& mark);
// Restore: fanotify_init and every mark. Fails naming the mark if its path is another file now, or
// if an event arrived meanwhile (it cannot be given back).
Result<int> install_fanotify(const image::Fd& fd, const FdInstall& at);

}  // namespace cryo::state
