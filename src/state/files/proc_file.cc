#include "state/files/proc_file.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "base/file_util.h"
#include "base/unique_fd.h"
#include "image/file_identity.h"
#include "kernel/proc_file_path.h"
#include "kernel/proc_status.h"
#include "kernel/tree_identity.h"

namespace cryo::state {
namespace {

Error refusal(int fd, std::string_view target, const std::string& kind) {
  return make_error("fd " + std::to_string(fd) + " (" + std::string(target) + ") is " + kind + ", which cryo cannot dump");
}

// Whether the proc mounted at `root_proc` (the holder's /proc, seen through its root) is the one of
// the holder's PID namespace: its entry for the holder's PID there is the holder (same start time).
// The host's /proc has another process (or none) under that number.
Result<bool> is_holders_proc(pid_t pid, const std::string& root_proc) {
  if (filesystem_magic(root_proc) != PROC_SUPER_MAGIC) return false;
  ASSIGN_OR_RETURN(ProcStatus status, read_proc_status(pid));
  if (status.ns_pid.empty()) return false;
  ASSIGN_OR_RETURN(std::string own, read_file("/proc/" + std::to_string(pid) + "/stat"));
  auto seen = read_file(root_proc + "/" + std::to_string(status.ns_pid.back()) + "/stat");
  if (!seen) return false;
  uint64_t start = parse_start_time(own);
  return start != 0 && parse_start_time(*seen) == start;
}

// The "Tgid:" line of a /proc/PID/status text, 0 when absent.
uint32_t status_tgid(const std::string& text) {
  size_t at = text.find("\nTgid:");
  if (at == std::string::npos) return 0;
  return static_cast<uint32_t>(std::strtoul(text.c_str() + at + 6, nullptr, 10));
}

constexpr auto kWaitLimit = std::chrono::seconds(10);

// Placeholders fork their children before opening their files, and each waits for nothing but its
// own subtree: a process created later (a younger sibling's) comes while this one waits.
Result<> wait_for_process(uint32_t pid, const std::string& why) {
  std::string process = "/proc/" + std::to_string(pid);
  auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
  while (::access(process.c_str(), F_OK) != 0) {
    if (errno != ENOENT) return fail_errno("access(" + process + ")");
    if (std::chrono::steady_clock::now() > deadline) return fail(why + ": pid " + std::to_string(pid) + " was not created within 10 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return {};
}

// Takes fd `number` of `owner` once it is the file `like` is (same /proc inode): the owner puts it
// there while this process waits.
Result<int> take_from(uint32_t owner, int number, int like, const std::string& what) {
  struct stat want;
  if (::fstat(like, &want) != 0) return fail_errno("fstat");
  RETURN_IF_ERROR(wait_for_process(owner, what));
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, owner, 0)));
  if (!pidfd.valid()) return fail_errno("pidfd_open(" + std::to_string(owner) + ")");
  auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
  for (;;) {
    UniqueFd copy(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), number, 0)));
    struct stat got;
    if (copy.valid() && ::fstat(copy.get(), &got) == 0 && got.st_dev == want.st_dev && got.st_ino == want.st_ino) return copy.release();
    if (!copy.valid() && errno != EBADF) return fail_errno("pidfd_getfd(pid " + std::to_string(owner) + ", fd " + std::to_string(number) + ")");
    if (std::chrono::steady_clock::now() > deadline)
      return fail(what + ": pid " + std::to_string(owner) + " did not open its fd " + std::to_string(number) + " within 10 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::string shown_name(const image::Fd& fd) {
  if (fd.kind() == image::FD_NAMESPACE) return "the " + fd.namespace_file().type() + " namespace file";
  return "/proc/" + fd.proc_path();
}

}  // namespace

Result<> collect_proc_file(const FdCollect& in, image::Fd& out) {
  std::string link = fd_link(in);
  std::string target(in.target);
  ASSIGN_OR_RETURN(struct stat st, stat_path(link));
  // The link text is the path in the holder's view (its root, its mounts): the tree's own /proc is
  // the proc mounted at /proc there, of the holder's PID namespace.
  std::string root_proc = "/proc/" + std::to_string(in.pid) + "/root/proc";
  struct stat mount;
  bool under_proc = target == "/proc" || target.starts_with("/proc/");
  bool same_mount = ::stat(root_proc.c_str(), &mount) == 0 && mount.st_dev == st.st_dev;
  if (!under_proc || !same_mount)
    return fail(refusal(in.fd, target, "a file of a /proc other than the tree's own /proc (the host's /proc through a bind mount, or another proc mount)"));
  ASSIGN_OR_RETURN(bool holders, is_holders_proc(in.pid, root_proc));
  if (!holders) return fail(refusal(in.fd, target, "a file of a /proc that is not the one of the tree's PID namespace"));

  std::string rel = target.size() > 6 ? target.substr(6) : "";
  auto parsed = parse_proc_file_path(rel);
  if (!parsed) return fail(refusal(in.fd, target, "a /proc file cryo cannot name (" + parsed.error().message + ")"));
  if (std::string why = unreopenable_proc_file(*parsed); !why.empty()) return fail(refusal(in.fd, target, why));
  if (parsed->pid != 0) {
    std::string pid_dir = root_proc + "/" + std::to_string(parsed->pid);
    auto status = read_file(pid_dir + "/status");
    uint32_t tgid = status ? status_tgid(*status) : 0;
    if (tgid != 0 && tgid != parsed->pid)
      return fail(refusal(in.fd, target, "a file of thread " + std::to_string(parsed->pid) + " of pid " + std::to_string(tgid) +
                                             " (not its leader), which cryo cannot reopen yet: restore creates threads after the files"));
    if (parsed->tid != 0 && parsed->tid != parsed->pid)
      return fail(refusal(in.fd, target, "a file of thread " + std::to_string(parsed->tid) + " of pid " + std::to_string(parsed->pid) +
                                             " (not its leader), which cryo cannot reopen yet: restore creates threads after the files"));
    // The open file keeps the dentry of its process's entry; while that process lives, a lookup
    // finds the same dentry and inode. A process that has exited leaves a file that reads ESRCH,
    // and its PID may name another process now: either way the lookup gives another inode, or none.
    struct stat now;
    if (::stat((root_proc + "/" + rel).c_str(), &now) != 0 || now.st_ino != st.st_ino || now.st_dev != st.st_dev)
      return fail(refusal(in.fd, target, "a file of pid " + std::to_string(parsed->pid) +
                                             ", a process that has exited since (no process of the tree has it now)"));
  }
  out.set_kind(image::FD_PROC_FILE);
  out.set_proc_path(rel);
  // Only for finding fds that share the open file (dump/shared_open_files.h); restore never checks it.
  set_identity(st, out.mutable_identity());
  return {};
}

Result<int> open_proc_file(const image::Fd& fd) {
  // Validation parsed the path already (validate_proc_files); parse again for the PID.
  ASSIGN_OR_RETURN(ProcFilePath parsed, parse_proc_file_path(fd.proc_path()));
  std::string path = fd.proc_path().empty() ? "/proc" : "/proc/" + fd.proc_path();
  if (parsed.pid != 0) RETURN_IF_ERROR(wait_for_process(parsed.pid, path));
  // O_ASYNC is armed by F_SETFL at the fd's number (restore/fd_status.h), like every status flag
  // open does not take.
  int flags = static_cast<int>(fd.flags()) & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_ASYNC);
  int opened = ::open(path.c_str(), flags | O_NOCTTY);
  if (opened < 0) return fail_errno("open(" + path + ")");
  return opened;
}

Result<int> place_by_name(const image::Fd& fd, const FdInstall& at, Result<int> (*open)(const image::Fd&)) {
  if (!at.images || !at.process) return fail("fd kind " + image::FdKind_Name(fd.kind()) + " is installed only in a process of the tree");
  const ProcessImage& process = *at.process;
  if (fd.open_file_id() != 0) {
    // The first live holder opens it; zombies hold no files.
    for (const auto& holder : at.images->processes) {
      if (holder.zombie()) continue;
      const image::Fd* held = nullptr;
      for (const auto& other : holder.files.fds())
        if (other.kind() == fd.kind() && other.open_file_id() == fd.open_file_id()) {
          held = &other;
          break;
        }
      if (!held) continue;
      if (holder.pid() == process.pid()) break;  // This process is the first: it opens the file.
      // The file opened here only tells the owner's copy apart from whatever else is at its number.
      ASSIGN_OR_RETURN(int like, open(fd));
      UniqueFd own(like);
      return take_from(holder.pid(), held->fd(), own.get(), shown_name(fd) + " shared with pid " + std::to_string(holder.pid()));
    }
  }
  return open(fd);
}

Result<int> install_proc_file(const image::Fd& fd, const FdInstall& at) { return place_by_name(fd, at, open_proc_file); }

}  // namespace cryo::state
