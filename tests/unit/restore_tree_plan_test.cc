#include "restore/tree_plan.h"

#include <gtest/gtest.h>

namespace cryo::restore {
namespace {

image::ProcessEntry entry(uint32_t pid, uint32_t ppid, uint32_t pgid, uint32_t sid) {
  image::ProcessEntry e;
  e.set_pid(pid);
  e.set_ppid(ppid);
  e.set_pgid(pgid);
  e.set_sid(sid);
  e.add_threads(pid);
  return e;
}

std::string joined(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += p + "\n";
  return out;
}

TEST(RestoreTreePlan, CreatesDepthFirstWithSiblingsInImageOrder) {
  // 1 -> {2 -> {4}, 3}
  std::vector<image::ProcessEntry> tree = {entry(1, 0, 1, 1), entry(2, 1, 1, 1), entry(3, 1, 1, 1), entry(4, 2, 1, 1)};
  std::vector<std::string> problems;
  TreePlan plan = plan_tree(tree, &problems);
  ASSERT_TRUE(problems.empty()) << joined(problems);
  EXPECT_EQ(plan.creation_order, (std::vector<size_t>{0, 1, 3, 2}));
  EXPECT_EQ(plan.processes[0].children, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(plan.processes[1].children, (std::vector<size_t>{3}));
  EXPECT_EQ(plan.processes[0].session, SessionAction::NewSession);
  EXPECT_EQ(plan.processes[1].session, SessionAction::Inherit);
}

TEST(RestoreTreePlan, InitOutsideAnySessionOfTheNamespaceInheritsCryos) {
  std::vector<image::ProcessEntry> tree = {entry(1, 0, 0, 0), entry(2, 1, 0, 0)};
  std::vector<std::string> problems;
  TreePlan plan = plan_tree(tree, &problems);
  ASSERT_TRUE(problems.empty()) << joined(problems);
  EXPECT_EQ(plan.processes[0].session, SessionAction::Inherit);
  EXPECT_EQ(plan.processes[1].session, SessionAction::Inherit);
}

TEST(RestoreTreePlan, TwoSessionsAndAGroupJoinedBySibling) {
  // Session 1: init. Session 2 led by 2, whose children 3 (leads group 3) and 4 (joins group 3).
  std::vector<image::ProcessEntry> tree = {entry(1, 0, 1, 1), entry(2, 1, 2, 2), entry(3, 2, 3, 2), entry(4, 2, 3, 2),
                                           entry(5, 1, 1, 1)};
  std::vector<std::string> problems;
  TreePlan plan = plan_tree(tree, &problems);
  ASSERT_TRUE(problems.empty()) << joined(problems);
  EXPECT_EQ(plan.processes[1].session, SessionAction::NewSession);
  EXPECT_EQ(plan.processes[2].session, SessionAction::NewGroup);
  EXPECT_EQ(plan.processes[3].session, SessionAction::JoinGroup);
  EXPECT_EQ(plan.processes[3].join_pgid, 3u);
  EXPECT_EQ(plan.processes[4].session, SessionAction::Inherit);
}

TEST(RestoreTreePlan, RefusesAGroupWhoseLeaderIsCreatedLater) {
  // 3 joins group 4, but 4 comes after 3 in the depth-first order.
  std::vector<image::ProcessEntry> tree = {entry(1, 0, 1, 1), entry(3, 1, 4, 1), entry(4, 1, 4, 1)};
  std::vector<std::string> problems;
  plan_tree(tree, &problems);
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_NE(problems[0].find("created after it"), std::string::npos) << problems[0];
}

TEST(RestoreTreePlan, RefusesAGroupWithoutLeader) {
  std::vector<image::ProcessEntry> tree = {entry(1, 0, 1, 1), entry(2, 1, 9, 1)};
  std::vector<std::string> problems;
  plan_tree(tree, &problems);
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_NE(problems[0].find("leader is not in the image"), std::string::npos) << problems[0];
}

TEST(RestoreTreePlan, RefusesASessionOnlyReachableByAnEarlierSetsid) {
  // 3 is in session 2 but its parent 1 is in session 1 and 3 does not lead session 2.
  std::vector<image::ProcessEntry> tree = {entry(1, 0, 1, 1), entry(2, 1, 2, 2), entry(3, 1, 2, 2)};
  std::vector<std::string> problems;
  plan_tree(tree, &problems);
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_NE(problems[0].find("pid 3 is in session 2"), std::string::npos) << problems[0];
}

TEST(RestoreTreePlan, RefusesMalformedTrees) {
  struct Case {
    std::vector<image::ProcessEntry> tree;
    std::string expect;
  } cases[] = {
      {{}, "empty"},
      {{entry(2, 0, 2, 2)}, "must be its init"},
      {{entry(1, 0, 1, 1), entry(1, 1, 1, 1)}, "appears twice"},
      {{entry(1, 0, 1, 1), entry(3, 2, 1, 1), entry(2, 1, 1, 1)}, "does not come before it"},
      {{entry(1, 0, 1, 1), entry(4194305, 1, 1, 1)}, "out of the range"},
      {{entry(1, 0, 1, 1), entry(5, 0, 1, 1)}, "no parent"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> problems;
    plan_tree(c.tree, &problems);
    ASSERT_FALSE(problems.empty()) << c.expect;
    EXPECT_NE(joined(problems).find(c.expect), std::string::npos) << joined(problems);
  }
}

TEST(RestoreTreePlan, RefusesThreadIdsUsedTwice) {
  std::vector<image::ProcessEntry> tree = {entry(1, 0, 1, 1), entry(2, 1, 1, 1)};
  tree[0].add_threads(2);
  std::vector<std::string> problems;
  plan_tree(tree, &problems);
  EXPECT_NE(joined(problems).find("thread id 2"), std::string::npos) << joined(problems);
}

}  // namespace
}  // namespace cryo::restore
