// The mounts of the tree's own mount namespace. Restore gives the tree a copy of the restoring
// cryo's mounts and a fresh /proc, nothing else: a mount the tree made itself (a tmpfs, a bind, a
// remount read-only) would be gone, and its files with it. Such a tree is refused at dump.
#pragma once

#include <sys/types.h>

#include <vector>

#include "base/error.h"
#include "kernel/proc_mountinfo.h"

namespace cryo::dump {

struct MountDifference {
  std::vector<MountEntry> only_in_tree;  // Restore cannot make these.
  std::vector<MountEntry> only_in_cryo;  // The tree unmounted them, or the host mounted them later.
};

// Compares as multisets (a mount point can be stacked); the tree's own procfs on /proc is the one
// restore makes, so it is not a difference.
MountDifference compare_mounts(std::vector<MountEntry> tree, std::vector<MountEntry> cryo);

// Refuses, naming the first few, mounts only the tree has; logs those only cryo has.
Result<> check_tree_mounts(pid_t init);

}  // namespace cryo::dump
