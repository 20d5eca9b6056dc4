// Kernel tables that two processes (not threads of one) share since a clone with CLONE_FILES,
// CLONE_FS, CLONE_SIGHAND or CLONE_VM (a vfork child still in vfork, a posix_spawn helper ...), and
// those one thread of a process does not share with its leader. Restore creates each process with
// tables of its own, shared by all its threads, so such a tree is refused at dump, naming the
// processes or the thread and the table, instead of coming back with the difference silently lost.
#pragma once

#include <sys/types.h>

#include <map>
#include <vector>

#include "base/error.h"
#include "dump/freezer.h"

namespace cryo::dump {

// `inside` maps host PIDs to PIDs in the tree's namespace (for the message). kcmp(2) orders the
// kernel objects, so each table needs only a sort of the processes (n log n calls), not all pairs.
Result<> check_shared_kernel_tables(const std::vector<FrozenProcess>& processes, const std::map<pid_t, uint32_t>& inside);
// The same for the threads of one process: one that unshared its fd table or its cwd, root and
// umask (unshare(CLONE_FILES), unshare(CLONE_FS)) is refused, naming it, since restore makes every
// thread of a process share its leader's.
Result<> check_threads_share_their_tables(const std::vector<FrozenProcess>& processes, const std::map<pid_t, uint32_t>& inside);

}  // namespace cryo::dump
