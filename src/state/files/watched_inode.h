// The inode an inotify watch or a fanotify mark is on, found again by its path. The dump resolves
// fdinfo's file handle to the path restore re-adds the watch by; restore checks, before and after,
// that the path still leads to that inode. Shared by state/files/inotify and state/files/fanotify.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "base/error.h"
#include "common.pb.h"

namespace cryo::state {

// Dump. The inode as fdinfo shows it.
struct WatchedInode {
  uint64_t ino;
  uint32_t sdev;                // The kernel's dev_t: major << 20 | minor.
  const std::string& handle;    // The file handle's bytes.
  int handle_type;
};

// The path of that inode in the tree's view, found by its file handle through the tree's mounts of
// its device (open_by_handle_at) and checked to lead back to it; `st` gets its stat. Refuses an inode
// without a handle, a deleted one or one no mount reaches, naming it by `name` ("inotify watch 3 ...").
Result<std::string> watched_inode_path(pid_t pid, const std::string& mountinfo, const WatchedInode& inode, const std::string& name,
                                       struct stat* st);
// watched_inode_path, written into an image's watch or mark (InotifyWatch, FanotifyMark) with the
// inode's handle and identity: the inode only, since a watched directory's size and times change
// with what is in it.
template <class Entry>
Result<> record_watched_inode(pid_t pid, const std::string& mountinfo, const WatchedInode& inode, const std::string& name, Entry* entry) {
  struct stat st;
  ASSIGN_OR_RETURN(std::string path, watched_inode_path(pid, mountinfo, inode, name, &st));
  entry->set_path(path);
  entry->mutable_identity()->set_dev(st.st_dev);
  entry->mutable_identity()->set_ino(st.st_ino);
  entry->mutable_identity()->set_mode(st.st_mode);
  entry->set_handle(inode.handle);
  entry->set_handle_type(inode.handle_type);
  return {};
}
// The bytes of events queued on an inotify or fanotify fd (FIONREAD on a pidfd_getfd copy).
Result<int> queued_event_bytes(pid_t pid, int fd);
// The kernel's dev_t of fdinfo as "major:minor".
std::string device_name(uint32_t sdev);

// Restore. Whether `path` is the inode of `identity` at dump: its file handle (which holds the
// inode's generation: an inode number is reused at once by a file created after a delete) and
// device, inode and type. The error names it by `name` and says why.
Result<> check_same_inode(const std::string& path, const image::FileIdentity& identity, const std::string& handle, int handle_type,
                          const std::string& name);

}  // namespace cryo::state
