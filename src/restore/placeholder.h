// Placeholders: the processes that become the restored tree. Each is a fork of cryo, so the parsed
// images are already in its memory. Inside the new namespaces each one takes its session and group,
// creates its own children (so every parent is the right one, with the right PID), puts its files at
// their numbers, and then waits to be seized; its memory and registers are replaced later by
// syscalls injected with ptrace.
#pragma once

#include <cstdint>
#include <array>
#include <map>

#include "image/image_set.h"
#include "restore/seed_board.h"
#include "restore/staged_fds.h"
#include "image/tree_plan.h"

namespace cryo::restore {

enum class PidMethod {
  Clone3,     // clone3 with set_tid = {pid}.
  NsLastPid,  // Write pid - 1 to /proc/sys/kernel/ns_last_pid, fork, check.
};

struct PlaceholderContext {
  const ImageSet* images = nullptr;
  const TreePlan* plan = nullptr;
  PidMethod pid_method = PidMethod::Clone3;
  int report_fd = -1;  // Sending end of the report channel.
  int hold_fd = -1;    // Read end of a pipe only cryo can write: EOF means cryo is gone, so give up.
  int zombie_fd = -1;  // Read end of a pipe whose EOF tells zombies to exit.
  StagedFds staged;    // Pipes and shared open files, filled in by the helper before the init is cloned.
  const SeedBoard* seed_board = nullptr;  // Where placeholders record the memory they mapped before forking.
};

// Runs in the tree's init right after it was cloned into the new namespaces: mounts its /proc, sets
// the hostname, and goes on as the placeholder of pid 1. Never returns.
[[noreturn]] void run_root_placeholder(const PlaceholderContext& ctx);

// The fds a live placeholder keeps besides the image's, closed by injected syscalls before release.
inline std::array<int, 2> placeholder_own_fds(const PlaceholderContext& ctx) { return {ctx.report_fd, ctx.hold_fd}; }

}  // namespace cryo::restore
