// Files held open on a namespace (nsfs: opened at /proc/self/ns/net, /proc/PID/ns/pid_for_children,
// or anywhere else one is reachable): an fd on the namespace itself, whose link reads
// "type:[inode]". Dumped as the namespace of its type that the tree's processes are in, recorded
// as the tree's own or as the host's one the tree shares; restore opens the restored tree's
// namespace of that type (restore/namespace_files.h), which stands in the same relation to it
// (ns/restored_namespaces.h).
//
// Refused at dump, naming the fd and the namespace:
// - a namespace the tree is not in (a child's that has exited, one made by unshare in a process
//   that then went back, one inherited from outside): nothing at restore would be it;
// - the host's mnt, pid or time namespace held by a tree that shares it: a restored tree has new
//   ones of its own, so the file would name another relation;
// - a file opened with O_NOFOLLOW (through a bind mount of a namespace file): its reopen through
//   /proc's magic link cannot keep that flag.
// The namespace's processes are checked to be all in the same namespaces as the init before any
// file is collected (check_same_namespaces), so the holder's namespace of a type is the tree's.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/error.h"
#include "files.pb.h"

namespace cryo::dump {


// Fills `out` (kind FD_NAMESPACE, namespace_file) for fd `fd` of host PID `pid`, whose link `link`
// reads `target` and which lies on nsfs; refuses what restore could not give back.
Result<> collect_namespace_file(pid_t pid, int fd, const std::string& target, const std::string& link, image::Fd& out);

}  // namespace cryo::dump
