// The order in which placeholders are created and how each one reaches its session and process
// group. Sessions and groups can only be entered in a few ways (setsid makes the caller a new
// session's leader; setpgid joins a group of the caller's own session whose member already exists;
// fork inherits both), so not every shape a tree can take over time is reachable by forking: such
// trees are refused with the reason instead of being restored wrongly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pstree.pb.h"

namespace cryo::restore {

// The PID range the kernel can hand out (PID_MAX_LIMIT on 64-bit).
constexpr uint32_t kMaxPid = 4194304;

enum class SessionAction {
  Inherit,     // Same session and group as the parent: nothing to do after the fork.
  NewSession,  // setsid(): leader of its own session and group.
  NewGroup,    // setpgid(0, 0): leader of a new group in the parent's session.
  JoinGroup,   // setpgid(0, pgid): member of a group whose leader was created earlier.
};

struct ProcessPlan {
  std::vector<size_t> children;  // Indexes of the children, in creation order.
  SessionAction session = SessionAction::Inherit;
  uint32_t join_pgid = 0;        // For JoinGroup.
};

struct TreePlan {
  std::vector<ProcessPlan> processes;  // Same indexing as the entries given to plan_tree.
  std::vector<size_t> creation_order;  // Depth first, parents before children, siblings in image order.
};

// Plans the creation of the tree `entries` (pstree.img order). Every reason the tree cannot be
// recreated is appended to `problems`; the plan is only meaningful when none was added.
TreePlan plan_tree(const std::vector<image::ProcessEntry>& entries, std::vector<std::string>* problems);

}  // namespace cryo::restore
