#include "dump/proc_files.h"

#include <linux/magic.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>

#include "base/file_util.h"
#include "dump/file_identity.h"
#include "kernel/proc_file_path.h"
#include "kernel/proc_status.h"
#include "kernel/tree_identity.h"

namespace cryo::dump {
namespace {

Error refusal(int fd, const std::string& target, const std::string& kind) {
  return make_error("fd " + std::to_string(fd) + " (" + target + ") is " + kind + ", which cryo cannot dump");
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

}  // namespace

Result<> collect_proc_file(pid_t pid, int fd, const std::string& target, const std::string& link, image::Fd& out) {
  ASSIGN_OR_RETURN(struct stat st, stat_path(link));
  // The link text is the path in the holder's view (its root, its mounts): the tree's own /proc is
  // the proc mounted at /proc there, of the holder's PID namespace.
  std::string root_proc = "/proc/" + std::to_string(pid) + "/root/proc";
  struct stat mount;
  bool under_proc = target == "/proc" || target.starts_with("/proc/");
  bool same_mount = ::stat(root_proc.c_str(), &mount) == 0 && mount.st_dev == st.st_dev;
  if (!under_proc || !same_mount)
    return fail(refusal(fd, target, "a file of a /proc other than the tree's own /proc (the host's /proc through a bind mount, or another proc mount)"));
  ASSIGN_OR_RETURN(bool holders, is_holders_proc(pid, root_proc));
  if (!holders) return fail(refusal(fd, target, "a file of a /proc that is not the one of the tree's PID namespace"));

  std::string rel = target.size() > 6 ? target.substr(6) : "";
  auto parsed = parse_proc_file_path(rel);
  if (!parsed) return fail(refusal(fd, target, "a /proc file cryo cannot name (" + parsed.error().message + ")"));
  if (std::string why = unreopenable_proc_file(*parsed); !why.empty()) return fail(refusal(fd, target, why));
  if (parsed->pid != 0) {
    std::string pid_dir = root_proc + "/" + std::to_string(parsed->pid);
    auto status = read_file(pid_dir + "/status");
    uint32_t tgid = status ? status_tgid(*status) : 0;
    if (tgid != 0 && tgid != parsed->pid)
      return fail(refusal(fd, target, "a file of thread " + std::to_string(parsed->pid) + " of pid " + std::to_string(tgid) +
                                      " (not its leader), which cryo cannot reopen yet: restore creates threads after the files"));
    if (parsed->tid != 0 && parsed->tid != parsed->pid)
      return fail(refusal(fd, target, "a file of thread " + std::to_string(parsed->tid) + " of pid " + std::to_string(parsed->pid) +
                                      " (not its leader), which cryo cannot reopen yet: restore creates threads after the files"));
    // The open file keeps the dentry of its process's entry; while that process lives, a lookup
    // finds the same dentry and inode. A process that has exited leaves a file that reads ESRCH,
    // and its PID may name another process now: either way the lookup gives another inode, or none.
    struct stat now;
    if (::stat((root_proc + "/" + rel).c_str(), &now) != 0 || now.st_ino != st.st_ino || now.st_dev != st.st_dev)
      return fail(refusal(fd, target, "a file of pid " + std::to_string(parsed->pid) +
                                      ", a process that has exited since (no process of the tree has it now)"));
  }
  out.set_kind(image::FD_PROC_FILE);
  out.set_proc_path(rel);
  // Only for finding fds that share the open file (shared_open_files.h); restore never checks it.
  set_identity(st, out.mutable_identity());
  return {};
}

}  // namespace cryo::dump
