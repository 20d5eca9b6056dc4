// The order in which placeholders are created and how each one reaches its session and process
// group. Sessions and groups can only be entered in a few ways (setsid makes the caller a new
// session's leader; setpgid joins a group of the caller's own session whose member already exists;
// fork inherits both), so a session or group whose leader has exited is recreated by a temporary
// helper with the leader's old PID: it calls setsid or setpgid, forks the members whose parent
// had exited (the init adopts them when the helper exits) or lets a member join, and is reaped
// before the tree runs. The few shapes that no sequence of forks can reach are refused with the
// reason instead of being restored wrongly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pstree.pb.h"

namespace cryo {

// The PID range the kernel can hand out (PID_MAX_LIMIT on 64-bit).
constexpr uint32_t kMaxPid = 4194304;

enum class SessionAction {
  Inherit,     // Same session and group as the parent: nothing to do after the fork.
  NewSession,  // setsid(): leader of its own session and group.
  NewGroup,    // setpgid(0, 0): leader of a new group in the parent's session.
  JoinGroup,   // setpgid(0, pgid): member of a group that exists when it joins.
};

// A temporary process with the PID of a session or group leader that had exited. Its forker
// reaps it once it has made the session or group and forked its children.
struct HelperPlan {
  uint32_t pid = 0;                  // The gone leader's PID (the session or group ID).
  SessionAction session = SessionAction::NewSession;  // NewSession or NewGroup.
  std::vector<size_t> helpers;       // Indexes into TreePlan::helpers it forks first (groups of its session).
  std::vector<size_t> children;      // Processes it forks: their parent had exited, so the init adopts them.
};

struct ProcessPlan {
  std::vector<size_t> children;  // Indexes of the children it forks, in creation order.
  // Helpers it forks after its setsid and before its setpgid (so it can join a group a helper made).
  std::vector<size_t> helpers;
  SessionAction session = SessionAction::Inherit;
  uint32_t join_pgid = 0;        // For JoinGroup.
};

struct TreePlan {
  std::vector<ProcessPlan> processes;  // Same indexing as the entries given to plan_tree.
  std::vector<HelperPlan> helpers;
  // Processes only, depth first as they are created: each process's helpers (with the processes
  // they fork) before its children, siblings in image order.
  std::vector<size_t> creation_order;
};

// Plans the creation of the tree `entries` (pstree.img order). Every reason the tree cannot be
// recreated is appended to `problems`; the plan is only meaningful when none was added.
TreePlan plan_tree(const std::vector<image::ProcessEntry>& entries, std::vector<std::string>* problems);

}  // namespace cryo
