// /proc/PID/limits: a process's resource limits, readable for a process of any user. prlimit64()
// on a process whose uids differ from the caller's needs CAP_SYS_RESOURCE, which many hosts and
// containers (and this project's machines) lack, so a dump of a daemon that dropped privileges
// reads its limits here instead.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace cryo {

struct ResourceLimit {
  uint64_t cur = 0;  // RLIM_INFINITY (all ones) for "unlimited"
  uint64_t max = 0;
  bool operator==(const ResourceLimit&) const = default;
};

// One entry per resource, indexed by RLIMIT_* (RLIMIT_CPU = 0 ... RLIMIT_RTTIME = 15). Every row
// the kernel prints must be there, in its order, with the name it has for that resource.
Result<std::vector<ResourceLimit>> parse_proc_limits(std::string_view text);

Result<std::vector<ResourceLimit>> read_proc_limits(pid_t pid);

// "RLIMIT_NOFILE" for RLIMIT_NOFILE, "resource N" for a number the kernel does not have.
std::string rlimit_name(uint32_t resource);

}  // namespace cryo
