// epoll sets: the watches of a set, each a target fd with its event mask and data. fdinfo shows
// them; dump checks with kcmp that every watched file is still open under the number it was added
// with, in the process that will add the watches again. A set inherited by fork is one set for all
// its holders: restore creates it once (in the helper) and adds its watches in one process, the
// one whose fds hold every watched file; the others get copies. Watches are added once every fd of
// that process is at its number (its finish step), since they name those fds.
#pragma once

#include <sys/types.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "files.pb.h"
#include "image/image_set.h"
#include "ns/time_namespace.h"
#include "state/files/fd_kinds.h"

namespace cryo::state {

// Records the watches fdinfo shows; which holder can add them again is chosen once every process
// is read (choose_epoll_watch_holders).
Result<> collect_epoll(const FdCollect& in, image::Fd& out);
// Dump, once open_file_id is set on every fd of the frozen tree (`files` maps host PIDs): for each
// set, finds a process in which kcmp(KCMP_EPOLL_TFD) shows every watched file still open under the
// number it was added with, and marks the set's fds in the other processes watches_added_elsewhere.
// Refuses a set no holder can add again: the kernel keeps watching a file whose fd was closed while
// another reference (a dup, a fork) lives, and restore can only add what it names by an fd.
Result<> choose_epoll_watch_holders(std::map<pid_t, image::ProcessFiles>& files);
void validate_epoll(const image::Fd& fd, const std::set<int>& numbers, const std::string& name, std::vector<std::string>* problems);
// Every shared set's watches are added in exactly one process.
void validate_epoll_watch_holders(const ImageSet& set, std::vector<std::string>* problems);
// The holders of one set agree on its watches (the one that adds them and the others).
bool same_epoll(const image::Fd& a, const image::Fd& b);
// Creates the set, without watches.
Result<int> install_epoll(const image::Fd& fd, const FdInstall& at);
// Adds the watches of `fd` (already open at its number) for fds already open at theirs, unless
// another process adds them.
Result<> finish_epoll(const image::Fd& fd);

}  // namespace cryo::state
