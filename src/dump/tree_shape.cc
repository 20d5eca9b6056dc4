#include "dump/tree_shape.h"

#include <string>
#include <vector>

#include "image/tree_plan.h"

namespace cryo::dump {

Result<> check_tree_can_be_rebuilt(const image::ProcessTree& tree) {
  std::vector<image::ProcessEntry> entries(tree.processes().begin(), tree.processes().end());
  std::vector<std::string> problems;
  plan_tree(entries, &problems);
  if (problems.empty()) return {};
  std::string joined;
  for (const auto& p : problems) joined += (joined.empty() ? "" : "; ") + p;
  return fail(make_error("the tree's sessions and process groups cannot be made again by a restore: " + joined +
                         "; which cryo cannot dump"));
}

}  // namespace cryo::dump
