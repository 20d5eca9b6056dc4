#include "dump/dump_target.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "dump/freezer.h"
#include "kernel/proc_status.h"

namespace cryo::dump {

Result<uint64_t> namespace_inode(pid_t pid, const char* name) {
  std::string path = (pid == 0 ? std::string("/proc/self") : "/proc/" + std::to_string(pid)) + "/ns/" + name;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return fail_errno("stat(" + path + ")");
  return static_cast<uint64_t>(st.st_ino);
}

Result<DumpTarget> find_dump_target(pid_t pid) {
  std::string who = "PID " + std::to_string(pid);
  if (pid <= 0) return fail(make_error(who + " is not a process ID").with_hint("give the host PID of the tree's init with -t"));
  auto status = read_proc_status(pid);
  if (!status) {
    if (status.error().err == ENOENT || status.error().err == ESRCH)
      return fail(make_error("no process with PID " + std::to_string(pid)).with_hint("give the host PID of the tree's init with -t"));
    return fail(status.error());
  }
  if (status->tgid != pid)
    return fail(make_error(who + " is a thread of process " + std::to_string(status->tgid) + ", not a process")
                    .with_hint("give the host PID of the tree's init with -t"));
  // NSpid lists the PID in every namespace from ours down to the process's own: an init of a
  // namespace below ours has two or more entries, the last being 1.
  if (status->ns_pid.size() < 2 || status->ns_pid.back() != 1)
    return fail(make_error(who + " is not the init of a PID namespace")
                    .with_hint("give the host PID of a tree started with cryo run or unshare --pid --fork"));
  if (status->state == 'Z' || status->state == 'X') {
    RETURN_IF_ERROR(refuse_dead_leader_with_live_threads(pid, *status));
    return fail(make_error(who + " (" + status->name + ") has exited").with_hint("the tree is gone; nothing to dump"));
  }
  // A tracer is looked for later, by the preflight check, once the dump lock is held: another cryo
  // dumping this tree traces it too, and must be reported as that, not as a debugger.
  DumpTarget target;
  target.init = pid;
  target.ns_level = status->ns_pid.size() - 1;
  ASSIGN_OR_RETURN(target.pidns_inode, namespace_inode(pid, "pid"));
  return target;
}

Result<std::vector<pid_t>> processes_in_pid_namespace(uint64_t pidns_inode) {
  DIR* dir = ::opendir("/proc");
  if (!dir) return fail_errno("opendir(/proc)");
  std::vector<pid_t> members;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    pid_t pid = static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10));
    auto inode = namespace_inode(pid, "pid");
    if (inode && *inode == pidns_inode) members.push_back(pid);  // Failures: the process is gone.
  }
  ::closedir(dir);
  return members;
}

}  // namespace cryo::dump
