#include "dump/process_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cerrno>

#include "dump/fd_owners.h"
#include "image/file_identity.h"
#include "dump/file_locks.h"
#include "dump/posix_mqueues.h"
#include "kernel/proc_fdinfo.h"
#include "dump/unix_sockets.h"
#include "state/files/fd_kinds.h"
#include "state/files/pipe.h"
#include "kernel/proc_text.h"
#include "base/file_util.h"
#include "base/unique_fd.h"
#include <sys/syscall.h>
#include <unistd.h>

namespace cryo::dump {
namespace {

constexpr std::string_view kDeleted = " (deleted)";

Result<std::vector<int>> list_fds(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = ::opendir(path.c_str());
  if (!dir) return fail_errno("opendir(" + path + ")");
  std::vector<int> fds;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    auto fd = proc_text::parse_u64(e->d_name, 10, path);
    if (fd) fds.push_back(static_cast<int>(*fd));
  }
  ::closedir(dir);
  std::sort(fds.begin(), fds.end());
  return fds;
}

Error unsupported_fd(int fd, const std::string& target, const std::string& kind) {
  return make_error("fd " + std::to_string(fd) + " (" + target + ") is " + kind + ", which cryo cannot dump yet");
}

// "pipe:[1234]" -> 1234.
Result<uint64_t> bracketed_inode(const std::string& target) {
  size_t open = target.find('['), close = target.rfind(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return fail("no inode in '" + target + "'");
  return proc_text::parse_u64(std::string_view(target).substr(open + 1, close - open - 1), 10, target);
}

// "anon_inode:[eventfd]" -> "eventfd"; some kinds (older kernels, inotify) have no brackets.
std::string anon_inode_name(const std::string& target) {
  std::string name = target.substr(std::string_view("anon_inode:").size());
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
  return name;
}

// The kind name of a link that is not a path: "anon_inode:[inotify]" -> "an anonymous inode of kind 'inotify'".
std::string pseudo_file_kind(const std::string& target) {
  if (target.starts_with("anon_inode:")) return "an anonymous inode of kind '" + anon_inode_name(target) + "'";
  size_t colon = target.find(':');
  return "a '" + target.substr(0, colon) + "' file";
}

// O_TMPFILE stays in an open file's flags for good, and only an open that creates a new unnamed
// file can give it: a reopen of the recreated file cannot (glibc's tmpfile() makes such files).
constexpr uint32_t kTmpfileFlag = 020000000;  // __O_TMPFILE

Result<bool> collect_fd_kind(pid_t pid, int fd, image::Fd& out, std::vector<PipeEnd>& pipes, MemoryObjectCollector& objects,
                             const image::ClockReadings* freeze);

// Fills one fd; an fd closed meanwhile yields false.
Result<bool> collect_fd(pid_t pid, int pidfd, int fd, image::Fd& out, std::vector<PipeEnd>& pipes, MemoryObjectCollector& objects,
                        const image::ClockReadings* freeze) {
  ASSIGN_OR_RETURN(bool open, collect_fd_kind(pid, fd, out, pipes, objects, freeze));
  if (!open) return false;
  if (out.flags() & kTmpfileFlag)
    return fail(make_error("fd " + std::to_string(fd) + " (" + out.path() + ") was opened with O_TMPFILE (tmpfile(3)), a file status " +
                           "flag that cryo cannot give back yet"));
  auto owner = collect_fd_owner(pidfd, out);
  if (!owner) {
    if (owner.error().err == EBADF) return false;  // Closed meanwhile.
    return fail(owner.error().context("fd " + std::to_string(fd)));
  }
  return true;
}

Result<bool> collect_fd_kind(pid_t pid, int fd, image::Fd& out, std::vector<PipeEnd>& pipes, MemoryObjectCollector& objects,
                             const image::ClockReadings* freeze) {
  std::string link = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  auto target = read_link(link);
  if (!target) {
    if (target.error().err == ENOENT) return false;
    return fail(target.error());
  }
  auto info = read_proc_fdinfo(pid, fd);
  if (!info) {
    if (info.error().err == ENOENT) return false;
    return fail(info.error());
  }
  out.set_fd(fd);
  out.set_flags(info->flags & ~static_cast<uint32_t>(O_CLOEXEC));
  out.set_cloexec(info->flags & O_CLOEXEC);
  out.set_pos(info->pos);
  RETURN_IF_ERROR_CTX(collect_file_locks(pid, *info, out), "fd " + std::to_string(fd) + " (" + *target + ")");

  if (target->starts_with("pipe:[")) {
    ASSIGN_OR_RETURN(uint64_t id, bracketed_inode(*target));
    state::collect_pipe(state::FdCollect{pid, fd, *info}, id, out, pipes);
    return true;
  }
  if (const state::FdKindOps* ops = target->starts_with("anon_inode:") ? state::find_anon_inode_kind(anon_inode_name(*target)) : nullptr) {
    // All anonymous inodes share one inode: kcmp tells their open files apart.
    out.mutable_identity()->set_ino(info->ino);
    out.set_kind(ops->kind);
    std::string what = "fd " + std::to_string(fd) + " (" + *target + ")";
    if (!ops->collect) return fail(what + ": fd kind " + std::string(ops->name) + " has no collect step");
    RETURN_IF_ERROR_CTX(ops->collect(state::FdCollect{pid, fd, *info, freeze}, out), what);
    return true;
  }
  if (target->starts_with("socket:[")) {
    ASSIGN_OR_RETURN(uint64_t ino, bracketed_inode(*target));
    RETURN_IF_ERROR(collect_socket(pid, fd, *target, ino, *info, out));
    return true;
  }
  // One statfs tells the filesystems whose files are not reopened by their path.
  unsigned long filesystem = filesystem_magic(link);
  // Files of the tree's own /proc, and files held open on a namespace, are reopened by what they
  // name (state/files/proc_file.h, namespace_file.h).
  if (const state::FdKindOps* ops = state::find_filesystem_kind(filesystem)) {
    std::string what = "fd " + std::to_string(fd) + " (" + *target + ")";
    if (!ops->collect) return fail(what + ": fd kind " + std::string(ops->name) + " has no collect step");
    RETURN_IF_ERROR(ops->collect(state::FdCollect{pid, fd, *info, freeze, *target}, out));
    return true;
  }
  // A POSIX message queue is reopened by its name in the restored IPC namespace (posix_mqueues.h).
  if (filesystem == kMqueueMagic) return collect_mqueue_fd(fd, *target, link, out);
  if (filesystem == SECRETMEM_MAGIC) return fail(unsupported_fd(fd, *target, kSecretMemory));
  if (!target->starts_with("/")) return fail(unsupported_fd(fd, *target, pseudo_file_kind(*target)));

  auto st = stat_path(link);
  if (!st) {
    if (st.error().err == ENOENT) return false;
    return fail(st.error());
  }
  std::string path = *target;
  out.set_path(path);
  set_identity(*st, out.mutable_identity());
  // memfds and files unlinked while open are stored as memory objects (memory_objects.h). The link
  // text of an unlinked file ends in " (deleted)"; st_nlink tells it apart from a file whose name
  // really ends that way.
  std::string what = "pid " + std::to_string(pid) + ": fd " + std::to_string(fd) + " (" + *target + ")";
  if (auto name = memfd_name(*target); name && S_ISREG(st->st_mode)) {
    ASSIGN_OR_RETURN(uint64_t id, objects.add(image::OBJECT_MEMFD, link, *name, what));
    out.set_kind(image::FD_MEMFD);
    out.set_object_id(id);
    return true;
  }
  if (S_ISREG(st->st_mode) && st->st_nlink == 0) {
    auto original = deleted_path(*target);
    if (!original) return fail(unsupported_fd(fd, *target, "an unlinked file with no path"));
    ASSIGN_OR_RETURN(uint64_t id, objects.add(image::OBJECT_DELETED_FILE, link, *original, what));
    out.set_kind(image::FD_DELETED_FILE);
    out.set_object_id(id);
    return true;
  }
  if (S_ISREG(st->st_mode)) {
    out.set_kind(image::FD_REGULAR);
  } else if (S_ISDIR(st->st_mode)) {
    out.set_kind(image::FD_DIRECTORY);
  } else if (S_ISCHR(st->st_mode)) {
    // Reopening /dev/ptmx makes a new, unconnected pseudo-terminal, and /dev/tty is whatever
    // terminal controls the opener (the restored process has none): both would come back wrong.
    if (st->st_rdev == makedev(5, 2))
      return fail(unsupported_fd(fd, *target, "a pseudo-terminal master (a tmux, screen or ssh terminal)"));
    if (st->st_rdev == makedev(5, 0)) return fail(unsupported_fd(fd, *target, "the controlling terminal (/dev/tty)"));
    // Other terminals included: restore reopens the path, so a tree run in the foreground gets its
    // terminal back (not its controlling-terminal role).
    out.set_kind(image::FD_CHARDEV);
    out.set_rdev(st->st_rdev);
  } else if (S_ISFIFO(st->st_mode)) {
    // A named FIFO is a pipe with a path (state/files/pipe.h): restore reopens it at its path.
    RETURN_IF_ERROR(state::collect_fifo(state::FdCollect{pid, fd, *info}, *st, out, pipes));
  } else if (S_ISBLK(st->st_mode)) {
    return fail(unsupported_fd(fd, *target, "a block device"));
  } else {
    return fail(unsupported_fd(fd, *target, "a special file"));
  }
  return true;
}

Result<std::string> directory_link(pid_t pid, const char* name) {
  ASSIGN_OR_RETURN(std::string path, read_link("/proc/" + std::to_string(pid) + "/" + name));
  if (path.ends_with(kDeleted)) return fail(make_error(std::string(name) + " " + path + " was deleted, which cryo cannot dump"));
  return path;
}

}  // namespace

Result<image::ProcessFiles> collect_files(pid_t pid, std::vector<PipeEnd>& pipes, MemoryObjectCollector& objects,
                                          const image::ClockReadings* freeze) {
  image::ProcessFiles files;
  ASSIGN_OR_RETURN(std::vector<int> fds, list_fds(pid));
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) return fail_errno("pidfd_open(" + std::to_string(pid) + ")");
  for (int fd : fds) {
    image::Fd entry;
    ASSIGN_OR_RETURN(bool open, collect_fd(pid, pidfd.get(), fd, entry, pipes, objects, freeze));
    if (open) *files.add_fds() = std::move(entry);
  }
  ASSIGN_OR_RETURN(std::string cwd, directory_link(pid, "cwd"));
  ASSIGN_OR_RETURN(std::string root, directory_link(pid, "root"));
  files.set_cwd(cwd);
  files.set_root(root);
  return files;
}

}  // namespace cryo::dump
