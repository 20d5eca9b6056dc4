// Puts each restored process back into the cgroups it was in at the dump (by path, in every
// hierarchy this host mounts), creating a cgroup that no longer exists. Done right after the
// placeholders exist and before any memory is restored, so that pages are charged to the process's
// own memory cgroup, and its pids, cpu and io limits apply from its first instruction.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "core.pb.h"
#include "kernel/proc_cgroup.h"
#include "kernel/proc_mountinfo.h"

namespace cryo::restore {

// Problems of the image's cgroup paths: relative, with "." or ".." components, NUL bytes, too long.
void validate_cgroups(const image::ProcessCore& core, std::vector<std::string>* problems);

// cryo's own cgroups and the hierarchies' mount points, read once for the whole tree.
struct RestorerCgroups {
  std::vector<CgroupMembership> own;
  std::vector<MountEntry> mounts;
  static Result<RestorerCgroups> read();
};

// Moves `host_pid` into the cgroups of `core`, where they differ from cryo's own.
Result<> move_into_cgroups(const image::ProcessCore& core, pid_t host_pid, const RestorerCgroups& restorer);

}  // namespace cryo::restore
