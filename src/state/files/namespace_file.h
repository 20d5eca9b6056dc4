// Files held open on a namespace (FD_NAMESPACE; nsfs: opened at /proc/self/ns/net,
// /proc/PID/ns/pid_for_children, or anywhere else one is reachable): an fd on the namespace itself,
// whose link reads "type:[inode]".
//
// Dump: recorded as the namespace of its type that the tree's processes are in, as the tree's own or
// as the host's one the tree shares. Refused, naming the fd and the namespace:
// - a namespace the tree is not in (a child's that has exited, one made by unshare in a process
//   that then went back, one inherited from outside): nothing at restore would be it;
// - the host's mnt, pid or time namespace held by a tree that shares it: a restored tree has new
//   ones of its own, so the file would name another relation (ns/restored_namespaces.h);
// - a file opened with O_NOFOLLOW (through a bind mount of a namespace file): its reopen through
//   /proc's magic link cannot keep that flag.
// The tree's processes are checked to be all in the same namespaces as the init before any file is
// collected (check_same_namespaces), so the holder's namespace of a type is the tree's.
//
// Restore: the placeholder opens /proc/1/ns/TYPE in the tree's /proc, the namespace its init (and so
// every process of the tree) is in. For the tree's own namespaces that is the new one restore made
// (pid, mnt, time, and ipc and uts where the tree had them); for those it shares, the host's one
// (cryo's), which the restored tree shares again. It is shared between fds and processes like a
// /proc file (proc_file.h: place_by_name).
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "files.pb.h"
#include "image/image_set.h"
#include "state/files/fd_kinds.h"

namespace cryo::state {

// Fills the kind (FD_NAMESPACE) and namespace_file of an fd on nsfs; refuses what restore could not
// give back.
Result<> collect_namespace_file(const FdCollect& in, image::Fd& out);

// Across the image: every namespace file names a known type whose relation to the tree (its own or
// the host's) is the one namespaces.img gives and the one a restored tree has; no path, no flag a
// reopen through /proc/1/ns cannot give (namespace_file_validation.cc).
void validate_namespace_files(const ImageSet& set, std::vector<std::string>* problems);

// Opens the fd in the caller's /proc (a placeholder's: the tree's) with its flags, and checks that
// it is a namespace of the image's type. Returns the new fd, at the lowest free number.
Result<int> open_namespace_file(const image::Fd& fd);

// The install step: the fd as its open file should be (place_by_name).
Result<int> install_namespace_file(const image::Fd& fd, const FdInstall& at);

}  // namespace cryo::state
