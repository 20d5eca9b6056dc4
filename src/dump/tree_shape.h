// The sessions and process groups of the dumped tree, checked against what restore can rebuild.
//
// Restore recreates sessions and groups with forks, setsid and setpgid (image/tree_plan.h), and a
// few shapes no sequence of those reaches: a process adopted by the init that stays in a session
// whose leader still lives, for one (stress-ng's daemon stressor makes it). Restore refuses them,
// but by then a default dump has ended the tree: so the dump asks the same planner first.
#pragma once

#include "base/error.h"
#include "pstree.pb.h"

namespace cryo::dump {

// An error naming every reason the planner gives, or nothing when the tree can be rebuilt.
Result<> check_tree_can_be_rebuilt(const image::ProcessTree& tree);

}  // namespace cryo::dump
