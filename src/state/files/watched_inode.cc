#include "state/files/watched_inode.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/file_util.h"
#include "base/unique_fd.h"
#include "kernel/proc_mountinfo.h"

namespace cryo::state {
namespace {

constexpr std::string_view kDeleted = " (deleted)";

// The watched inode through the mount `mount_point` (in the tree's view): open_by_handle_at, which
// needs CAP_DAC_READ_SEARCH, then the path the kernel gives the opened file, checked to lead back to
// the same inode in the tree's root. Empty when this mount does not reach it (a bind of another
// subtree, a file whose dentry is not connected to the tree).
Result<std::string> path_through_mount(pid_t pid, const std::string& mount_point, const WatchedInode& watch, const std::string& name,
                                       struct stat* st) {
  std::string root = "/proc/" + std::to_string(pid) + "/root";
  // A directory only: opening a mount point that is a device or FIFO could block or act on it.
  UniqueFd mount(::open((root + mount_point).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!mount.valid()) return std::string();
  std::vector<unsigned char> buffer(sizeof(file_handle) + watch.handle.size());
  auto* handle = reinterpret_cast<file_handle*>(buffer.data());
  handle->handle_bytes = static_cast<unsigned>(watch.handle.size());
  handle->handle_type = watch.handle_type;
  std::memcpy(handle->f_handle, watch.handle.data(), watch.handle.size());
  UniqueFd file(static_cast<int>(::syscall(SYS_open_by_handle_at, mount.get(), handle, O_PATH | O_CLOEXEC)));
  if (!file.valid()) {
    if (errno == ESTALE) return std::string();
    return fail_errno("open_by_handle_at(" + name + ")");
  }
  if (::fstat(file.get(), st) != 0) return fail_errno("fstat");
  if (st->st_ino != watch.ino) return fail(name + ": its file handle opened inode " + std::to_string(st->st_ino));
  ASSIGN_OR_RETURN(std::string path, read_link("/proc/self/fd/" + std::to_string(file.get())));
  if (path.ends_with(kDeleted) || st->st_nlink == 0)
    return fail(make_error(name + " is on a deleted file (" + path + "), which cryo cannot dump: restore finds the file by its path"));
  if (!path.starts_with("/")) return std::string();
  struct stat there;
  if (::lstat((root + path).c_str(), &there) != 0 || there.st_dev != st->st_dev || there.st_ino != st->st_ino) return std::string();
  return path;
}

}  // namespace

std::string device_name(uint32_t sdev) {
  // The kernel's internal dev_t: 12 bits of major above 20 bits of minor.
  return std::to_string(sdev >> 20) + ":" + std::to_string(sdev & 0xfffff);
}

// The bytes of events queued on the fd, through a copy of it (the same open file, so the same queue).
Result<int> queued_event_bytes(pid_t pid, int fd) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) return fail_errno("pidfd_open(" + std::to_string(pid) + ")");
  UniqueFd copy(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
  if (!copy.valid()) return fail_errno("pidfd_getfd(" + std::to_string(fd) + ")");
  int bytes = 0;
  if (::ioctl(copy.get(), FIONREAD, &bytes) != 0) return fail_errno("ioctl(FIONREAD)");
  return bytes;
}

Result<std::string> watched_inode_path(pid_t pid, const std::string& mountinfo, const WatchedInode& watch, const std::string& name,
                                       struct stat* st) {
  if (watch.handle.empty())
    return fail(make_error(name + " is on a filesystem that gives no file handles, which cryo cannot dump: it finds the "
                           "watched file by its handle"));
  ASSIGN_OR_RETURN(std::vector<DeviceMount> mounts, mounts_of_device(mountinfo, watch.sdev >> 20, watch.sdev & 0xfffff));
  // Whole filesystems first: a bind of a subtree reaches only what is under it.
  std::stable_partition(mounts.begin(), mounts.end(), [](const DeviceMount& m) { return m.root == "/"; });
  for (const DeviceMount& mount : mounts) {
    ASSIGN_OR_RETURN(std::string path, path_through_mount(pid, mount.mount_point, watch, name, st));
    if (!path.empty()) return path;
  }
  return fail(make_error(name + " is on a file cryo finds no path to in the tree's mounts, which cryo cannot dump: "
                         "restore finds the file by its path"));
}

namespace {

// name_to_handle_at(2) flag (Linux 6.5) for the handle fsnotify shows in fdinfo: an identifier
// of the inode that the filesystem need not be able to open again.
#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID 0x200
#endif

// The largest handle the kernel encodes (MAX_HANDLE_SZ).
constexpr unsigned kMaxHandleBytes = 128;

Error not_the_file(const std::string& name, const std::string& why) {
  return make_error(name + ": the path is another file than the one watched at dump (" + why + ")")
      .with_hint("restore where the watched files are the ones of the dump");
}

}  // namespace

Result<> check_same_inode(const std::string& path, const image::FileIdentity& id, const std::string& want_handle, int handle_type,
                          const std::string& name) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return fail(errno_error("lstat").context(name));
  if (st.st_dev != id.dev() || st.st_ino != id.ino() || (st.st_mode & S_IFMT) != (id.mode() & S_IFMT))
    return fail(not_the_file(name, "inode " + std::to_string(st.st_ino) + " instead of " + std::to_string(id.ino())));
  std::vector<unsigned char> buffer(sizeof(file_handle) + kMaxHandleBytes);
  auto* handle = reinterpret_cast<file_handle*>(buffer.data());
  handle->handle_bytes = kMaxHandleBytes;
  int mount_id = 0;
  if (::name_to_handle_at(AT_FDCWD, path.c_str(), handle, &mount_id, AT_HANDLE_FID) != 0)
    return fail(errno_error("name_to_handle_at(AT_HANDLE_FID)").context(name));
  if (handle->handle_type != handle_type || handle->handle_bytes != want_handle.size() ||
      std::memcmp(handle->f_handle, want_handle.data(), want_handle.size()) != 0)
    return fail(not_the_file(name, "inode " + std::to_string(st.st_ino) + " has another file handle: it was deleted and its number reused"));
  return {};
}

}  // namespace cryo::state
