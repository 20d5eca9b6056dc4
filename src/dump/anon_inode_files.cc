#include "dump/anon_inode_files.h"

#include "dump/fanotify_marks.h"
#include "dump/inotify_watches.h"

namespace cryo::dump {

Result<> collect_anon_inode(pid_t pid, int fd, image::FdKind kind, const FdInfo& info, image::Fd& out) {
  switch (kind) {
    case image::FD_INOTIFY: return collect_inotify(pid, fd, info, out);
    case image::FD_FANOTIFY: return collect_fanotify(pid, fd, info, out);
    default: return fail("fd kind " + image::FdKind_Name(kind) + " is not an anonymous inode cryo dumps");
  }
}

}  // namespace cryo::dump
