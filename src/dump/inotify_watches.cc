#include "dump/inotify_watches.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/file_util.h"
#include "base/unique_fd.h"
#include "dump/file_identity.h"
#include "image/inotify_limits.h"
#include "kernel/proc_mountinfo.h"

namespace cryo::dump {
namespace {

constexpr std::string_view kDeleted = " (deleted)";

std::string device_name(uint32_t sdev) {
  // The kernel's internal dev_t: 12 bits of major above 20 bits of minor.
  return std::to_string(sdev >> 20) + ":" + std::to_string(sdev & 0xfffff);
}

std::string watch_name(const InotifyWatchInfo& watch) {
  return "inotify watch " + std::to_string(watch.wd) + " (inode " + std::to_string(watch.ino) + " on device " +
         device_name(watch.sdev) + ")";
}

}  // namespace

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

namespace {

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

Result<> collect_inotify(pid_t pid, int fd, const FdInfo& info, image::Fd& out) {
  ASSIGN_OR_RETURN(int queued, queued_event_bytes(pid, fd));
  if (queued > 0)
    return fail(make_error("inotify fd has " + std::to_string(queued) + " bytes of events queued, which cryo cannot dump: they cannot "
                           "be read back without taking them from the process")
                    .with_hint("let the process read its events first, then dump again"));
  ASSIGN_OR_RETURN(std::string mountinfo, read_file("/proc/" + std::to_string(pid) + "/mountinfo"));
  std::vector<InotifyWatchInfo> watches = info.inotify_watches;
  std::sort(watches.begin(), watches.end(), [](const auto& a, const auto& b) { return a.wd < b.wd; });
  if (!watches.empty() && watches.back().wd - static_cast<int64_t>(watches.size()) > image::kMaxInotifySkippedWds)
    return fail(make_error("inotify fd's watches reach wd " + std::to_string(watches.back().wd) + " with " + std::to_string(watches.size()) +
                           " live, which cryo cannot dump: restore would add a throwaway watch for each of the more than " +
                           std::to_string(image::kMaxInotifySkippedWds) + " numbers between"));
  image::InotifyState* state = out.mutable_inotify();
  for (const InotifyWatchInfo& watch : watches) {
    if (watch.ignored_mask != 0) return fail(watch_name(watch) + " has an ignored mask, which inotify never sets");
    struct stat st;
    ASSIGN_OR_RETURN(std::string path, watched_inode_path(pid, mountinfo, {watch.ino, watch.sdev, watch.handle, watch.handle_type},
                                                          watch_name(watch), &st));
    image::InotifyWatch* entry = state->add_watches();
    entry->set_wd(watch.wd);
    entry->set_mask(watch.mask);
    entry->set_path(path);
    // The inode only: a watched directory's size and times change with what is in it.
    entry->mutable_identity()->set_dev(st.st_dev);
    entry->mutable_identity()->set_ino(st.st_ino);
    entry->mutable_identity()->set_mode(st.st_mode);
    entry->set_handle(watch.handle);
    entry->set_handle_type(watch.handle_type);
  }
  return {};
}

}  // namespace cryo::dump
