#include "restore/cgroups.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/logging.h"
#include "base/unique_fd.h"
#include "kernel/proc_cgroup.h"
#include "kernel/proc_mountinfo.h"

namespace cryo::restore {
namespace {

// mkdir -p below the hierarchy's mount point, which exists; logs what it creates.
Result<> make_cgroup(const std::string& mount_point, const std::string& path) {
  size_t end = 0;
  while (end != std::string::npos) {
    end = path.find('/', end + 1);
    std::string dir = mount_point + path.substr(0, end);
    if (::mkdir(dir.c_str(), 0755) == 0) {
      logging::get("restore")->info("created cgroup {} (it was gone)", dir);
    } else if (errno != EEXIST) {
      return fail_errno("mkdir(" + dir + ")");
    }
  }
  return {};
}

}  // namespace

Result<RestorerCgroups> RestorerCgroups::read() {
  RestorerCgroups r;
  ASSIGN_OR_RETURN(r.own, read_proc_cgroup(::getpid()));
  ASSIGN_OR_RETURN(r.mounts, read_mountinfo(::getpid()));
  return r;
}

Result<> move_into_cgroups(const image::ProcessCore& core, pid_t host_pid, const RestorerCgroups& restorer) {
  const auto& own = restorer.own;
  const auto& mounts = restorer.mounts;
  for (const auto& wanted : core.cgroups()) {
    std::string hierarchy = wanted.controllers().empty() ? "cgroup v2" : "cgroup '" + wanted.controllers() + "'";
    bool same = false;
    for (const auto& mine : own) same = same || (mine.controllers == wanted.controllers() && mine.path == wanted.path());
    if (same) continue;
    std::string mount_point = cgroup_mount_point(mounts, wanted.controllers());
    // The root of a hierarchy this host lacks constrains nothing: there is nothing to put back.
    if (mount_point.empty() && wanted.path() == "/") continue;
    if (mount_point.empty())
      return fail(make_error("the process was in " + wanted.path() + " of " + hierarchy + ", a hierarchy this host does not mount")
                      .with_hint("mount it, or restore on a host with the same cgroup layout"));
    RETURN_IF_ERROR_CTX(make_cgroup(mount_point, wanted.path()), hierarchy);
    std::string procs = mount_point + wanted.path() + "/cgroup.procs";
    UniqueFd fd(::open(procs.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) return fail_errno("open(" + procs + ")");
    std::string text = std::to_string(host_pid);
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      return fail_errno("write of pid " + text + " to " + procs);
  }
  return {};
}

}  // namespace cryo::restore
