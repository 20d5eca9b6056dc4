// epoll sets: the watches of a set, each a target fd with its event mask and data. fdinfo shows
// them; dump checks with kcmp that every watched file is still open under the number it was added
// with. Restore creates the set with the process's other fds and adds its watches once every fd of
// the process is at its number (its finish step), since the watches name those fds.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "files.pb.h"
#include "ns/time_namespace.h"
#include "state/files/fd_kinds.h"

namespace cryo::state {

// Checks with kcmp(KCMP_EPOLL_TFD) that every watched file is still open in the process under the
// fd number it was added with: the kernel keeps watching a file whose fd was closed while another
// reference (a dup, a fork) lives, and restore can only re-add what it can name by an fd.
Result<> collect_epoll(const FdCollect& in, image::Fd& out);
void validate_epoll(const image::Fd& fd, const std::set<int>& numbers, const std::string& name, std::vector<std::string>* problems);
// Creates the set, without watches.
Result<int> install_epoll(const image::Fd& fd, const FdInstall& at);
// Adds the watches of `fd` (already open at its number) for fds already open at theirs.
Result<> finish_epoll(const image::Fd& fd);

}  // namespace cryo::state
