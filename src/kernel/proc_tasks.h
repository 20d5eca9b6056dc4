// The threads of a process (/proc/PID/task) and the children of a thread (/proc/PID/task/TID/children).
#pragma once

#include <sys/types.h>

#include <string_view>
#include <vector>

#include "base/error.h"

namespace cryo {

// Parses a space-separated list of PIDs, as in the children file ("12 15 ").
Result<std::vector<pid_t>> parse_pid_list(std::string_view text);

// Thread IDs of a process, sorted; the leader is among them.
Result<std::vector<pid_t>> list_threads(pid_t pid);
// Children of every thread of a process, sorted and without duplicates. The children file lists
// only children that are still visible; a process that is exiting may list none.
Result<std::vector<pid_t>> list_children(pid_t pid);

}  // namespace cryo
