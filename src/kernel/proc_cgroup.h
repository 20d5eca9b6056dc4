// /proc/PID/cgroup: the control groups a process is in, one line per hierarchy:
// "ID:CONTROLLERS:PATH" (cgroup v1: "4:memory:/a/b"; the unified v2 hierarchy: "0::/a/b"). PATH is
// relative to the root of the reader's cgroup namespace.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "kernel/proc_mountinfo.h"

namespace cryo {

struct CgroupMembership {
  std::string controllers;  // "memory", "cpu,cpuacct", "name=systemd"; empty for cgroup v2.
  std::string path;         // "/", "/a/b"
  bool operator==(const CgroupMembership&) const = default;
};

Result<std::vector<CgroupMembership>> parse_proc_cgroup(std::string_view text);

// tid 0: the process's file; else its thread's.
Result<std::vector<CgroupMembership>> read_proc_cgroup(pid_t pid, pid_t tid = 0);

// Where the hierarchy of `controllers` is mounted among `mounts` (a cgroup2 mount for v2; a cgroup
// mount whose options name every controller for v1), or "" when it is not mounted.
std::string cgroup_mount_point(const std::vector<MountEntry>& mounts, const std::string& controllers);

}  // namespace cryo
