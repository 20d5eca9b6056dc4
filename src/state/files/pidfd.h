// pidfds (pidfd_open(2), clone CLONE_PIDFD): an fd that names a process, or with PIDFD_THREAD a
// thread. fdinfo shows its PID ("Pid:", in cryo's namespace; -1 once the process was reaped); the
// dump step translate_pidfd_targets (dump/pidfd_targets.h) turns it into the tree's PID and refuses
// what restore could not open again. Restore opens it with pidfd_open on that PID while the holder's
// placeholder prepares its fds, inside the tree's PID namespace: by then the holder, its ancestors
// and its descendants (zombies too) exist, which is why the dump takes only those. Its status flags
// (O_NONBLOCK) are set like any fd's; PIDFD_THREAD (O_EXCL) is given to pidfd_open.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "files.pb.h"
#include "image/image_set.h"
#include "state/files/fd_kinds.h"

namespace cryo::state {

// Records the PID fdinfo shows (cryo's view, until translate_pidfd_targets); refuses a pidfd of a
// process that was reaped or that cryo's PID namespace does not see.
Result<> collect_pidfd(const FdCollect& in, image::Fd& out);
void validate_pidfd(const image::Fd& fd, const std::set<int>& numbers, const std::string& name, std::vector<std::string>* problems);
// Across the image: every pidfd names the holder, an ancestor or a descendant of it, and is held by
// one process only (its fds there may share it).
void validate_pidfd_targets(const ImageSet& set, std::vector<std::string>* problems);
Result<int> install_pidfd(const image::Fd& fd, const FdInstall& at);

}  // namespace cryo::state
