#include "dump/tree_mounts.h"

#include <unistd.h>

#include <algorithm>
#include <iterator>

#include "base/logging.h"

namespace cryo::dump {

MountDifference compare_mounts(std::vector<MountEntry> tree, std::vector<MountEntry> cryo) {
  std::erase_if(tree, [](const MountEntry& m) { return m.fs_type == "proc" && m.mount_point == "/proc"; });
  std::erase_if(cryo, [](const MountEntry& m) { return m.fs_type == "proc" && m.mount_point == "/proc"; });
  std::sort(tree.begin(), tree.end());
  std::sort(cryo.begin(), cryo.end());
  MountDifference d;
  std::set_difference(tree.begin(), tree.end(), cryo.begin(), cryo.end(), std::back_inserter(d.only_in_tree));
  std::set_difference(cryo.begin(), cryo.end(), tree.begin(), tree.end(), std::back_inserter(d.only_in_cryo));
  return d;
}

Result<> check_tree_mounts(pid_t init) {
  ASSIGN_OR_RETURN(auto tree, read_mountinfo(init));
  ASSIGN_OR_RETURN(auto cryo, read_mountinfo(::getpid()));
  MountDifference d = compare_mounts(std::move(tree), std::move(cryo));
  for (const auto& m : d.only_in_cryo)
    logging::get("dump")->debug("the tree does not see {} (unmounted in the tree, or mounted on the host after it started); "
                                "a restore shows it to the tree", m.describe());
  if (d.only_in_tree.empty()) return {};
  std::string list;
  for (size_t i = 0; i < d.only_in_tree.size() && i < 3; ++i) list += (i ? ", " : "") + d.only_in_tree[i].describe();
  if (d.only_in_tree.size() > 3) list += " and " + std::to_string(d.only_in_tree.size() - 3) + " more";
  return fail(make_error("the tree's mount namespace has mounts of its own, which cryo cannot dump: " + list)
                  .with_hint("unmount them in the tree before the dump, or make them on the host before `cryo run`"));
}

}  // namespace cryo::dump
