// Files held open on a namespace (FD_NAMESPACE, dump/namespace_files.h), opened on the restored
// tree's namespace of their type: the placeholder opens /proc/1/ns/TYPE in the tree's /proc, the
// namespace its init (and so every process of the tree) is in. For the tree's own namespaces that is
// the new one restore made (pid, mnt, time, and ipc and uts where the tree had them); for those it
// shares, the host's one (cryo's), which the restored tree shares again. Validation made sure that
// the image's relation is the one the restored tree has (validate_namespace_files).
#pragma once

#include "base/error.h"
#include "files.pb.h"

namespace cryo::restore {

// Opens an FD_NAMESPACE fd in the caller's /proc (a placeholder's: the tree's) with its flags, and
// checks that it is a namespace of the image's type. Returns the new fd, at the lowest free number.
Result<int> open_namespace_file(const image::Fd& fd);

}  // namespace cryo::restore
