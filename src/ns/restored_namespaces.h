// Which namespaces a restored tree is in, kind by kind, as /proc/PID/ns names the kinds. A file
// held open on a namespace (nsfs, state/files/namespace_file.h) comes back on the restored tree's
// namespace of its kind, so it is dumped only where that one stands in the same relation to the
// tree as the dumped one did: the tree's own again, or the host's the tree shares again.
#pragma once

#include <string_view>

namespace cryo {

// The kinds nsfs names in an fd's link ("net:[4026531840]"): cgroup, ipc, mnt, net, pid, time,
// user, uts. pid_for_children and time_for_children are entries of /proc/PID/ns, not kinds: their
// files are pid and time namespaces.
bool is_namespace_type(std::string_view type);

// Whether a restored tree has a namespace of its own of `type` (a known one), given whether the
// dumped tree had one (`own_at_dump`): restore always makes new pid, mnt and time namespaces
// (namespace_init.h), makes ipc and uts ones as the dumped tree had them, and keeps cryo's net,
// user and cgroup namespaces (a dump refuses a tree with one of its own of those).
bool restored_tree_has_own(std::string_view type, bool own_at_dump);

// The CLONE_NEW* flag of `type` (what ioctl(NS_GET_NSTYPE) gives for such a file), 0 when unknown.
int namespace_type_flag(std::string_view type);

}  // namespace cryo
