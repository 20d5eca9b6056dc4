// The control groups of a process: restore puts it back into the same ones (by path), so that its
// limits, accounting and what /proc/self/cgroup shows carry on.
#pragma once

#include <sys/types.h>

#include <vector>

#include "base/error.h"
#include "core.pb.h"

namespace cryo::dump {

// Records every hierarchy's cgroup of `pid`; a thread in another cgroup than its leader (a threaded
// cgroup v2 subtree, or a v1 per-thread move) is refused, naming both.
Result<> fill_cgroups(pid_t pid, const std::vector<pid_t>& tids, image::ProcessCore& core);

}  // namespace cryo::dump
