#include "image/tree_plan.h"

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

TEST(RestoreTreePlan, RefusesAGroupOutsideTheNamespaceThatItsParentIsNotIn) {
  std::vector<image::ProcessEntry> tree = {entry(1, 0, 1, 1), entry(2, 1, 0, 1)};
  std::vector<std::string> problems;
  plan_tree(tree, &problems);
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_NE(problems[0].find("outside the namespace"), std::string::npos) << problems[0];
}

TEST(RestoreTreePlan, RefusesASessionMemberWhoseParentLeftTheSession) {
  // 3 is in session 2 but its parent 4 leads session 4: 4 forked 3 while in session 2, then called setsid.
  std::vector<image::ProcessEntry> tree = {entry(1, 0, 1, 1), entry(2, 1, 2, 2), entry(4, 2, 4, 4), entry(3, 4, 2, 2)};
  std::vector<std::string> problems;
  plan_tree(tree, &problems);
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_NE(problems[0].find("pid 3 is in session 2 but its parent pid 4 is in session 4"), std::string::npos) << problems[0];
}

TEST(RestoreTreePlan, RefusesAnAdoptedProcessInALiveSessionAndGroupOfAnother) {
  // 3's parent exited and the init adopted it, but it stays in session 2 and group 2, whose leader
  // lives: only a fork by a process of session 2 that then exits gives that.
  std::vector<image::ProcessEntry> tree = {entry(1, 0, 1, 1), entry(2, 1, 2, 2), entry(3, 1, 2, 2)};
  std::vector<std::string> problems;
  plan_tree(tree, &problems);
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_NE(problems[0].find("pid 3 was adopted by the init"), std::string::npos) << problems[0];
}

// A daemon that forked twice: 5 called setsid, forked 6 and exited; the init adopted 6.
TEST(RestoreTreePlan, DoubleForkedDaemonGetsASessionHelperForkedByTheInit) {
  std::vector<image::ProcessEntry> tree = {entry(1, 0, 1, 1), entry(6, 1, 5, 5), entry(7, 6, 5, 5)};
  std::vector<std::string> problems;
  TreePlan plan = plan_tree(tree, &problems);
  ASSERT_TRUE(problems.empty()) << joined(problems);
  ASSERT_EQ(plan.helpers.size(), 1u);
  EXPECT_EQ(plan.helpers[0].pid, 5u);
  EXPECT_EQ(plan.helpers[0].session, SessionAction::NewSession);
  EXPECT_EQ(plan.helpers[0].children, (std::vector<size_t>{1}));
  EXPECT_EQ(plan.processes[0].helpers, (std::vector<size_t>{0}));
  EXPECT_TRUE(plan.processes[0].children.empty());
  EXPECT_EQ(plan.processes[1].session, SessionAction::Inherit);
  EXPECT_EQ(plan.processes[1].children, (std::vector<size_t>{2}));
  EXPECT_EQ(plan.creation_order, (std::vector<size_t>{0, 1, 2}));
}

// A shell job: 4 led group 4 in the init's session, forked 8 and exited; the init adopted 8.
TEST(RestoreTreePlan, JobWhoseLeaderExitedGetsAGroupHelperForkedByTheInit) {
  std::vector<image::ProcessEntry> tree = {entry(1, 0, 1, 1), entry(2, 1, 1, 1), entry(8, 1, 4, 1)};
  std::vector<std::string> problems;
  TreePlan plan = plan_tree(tree, &problems);
  ASSERT_TRUE(problems.empty()) << joined(problems);
  ASSERT_EQ(plan.helpers.size(), 1u);
  EXPECT_EQ(plan.helpers[0].pid, 4u);
  EXPECT_EQ(plan.helpers[0].session, SessionAction::NewGroup);
  EXPECT_EQ(plan.helpers[0].children, (std::vector<size_t>{2}));
  EXPECT_EQ(plan.processes[0].helpers, (std::vector<size_t>{0}));
  EXPECT_EQ(plan.processes[0].children, (std::vector<size_t>{1}));
  EXPECT_EQ(plan.processes[2].session, SessionAction::Inherit);
  // The helper comes before the init's own children.
  EXPECT_EQ(plan.creation_order, (std::vector<size_t>{0, 2, 1}));
}

// The members of group 9 all have their parent: the first created hosts the helper and joins.
TEST(RestoreTreePlan, GroupWithoutAdoptedMembersIsHostedByItsFirstMember) {
  // 2 left group 9 (its leader, gone) to lead its own; its children 3 and 4 joined 9; 5 is 4's.
  std::vector<image::ProcessEntry> tree = {entry(1, 0, 1, 1), entry(2, 1, 2, 1), entry(3, 2, 9, 1), entry(4, 2, 9, 1),
                                           entry(5, 4, 9, 1)};
  std::vector<std::string> problems;
  TreePlan plan = plan_tree(tree, &problems);
  ASSERT_TRUE(problems.empty()) << joined(problems);
  ASSERT_EQ(plan.helpers.size(), 1u);
  EXPECT_EQ(plan.helpers[0].pid, 9u);
  EXPECT_TRUE(plan.helpers[0].children.empty());
  EXPECT_EQ(plan.processes[2].helpers, (std::vector<size_t>{0}));  // pid 3
  EXPECT_EQ(plan.processes[2].session, SessionAction::JoinGroup);
  EXPECT_EQ(plan.processes[2].join_pgid, 9u);
  EXPECT_EQ(plan.processes[3].session, SessionAction::JoinGroup);  // pid 4 joins the group 3 is in
  EXPECT_TRUE(plan.processes[3].helpers.empty());
  EXPECT_EQ(plan.processes[4].session, SessionAction::Inherit);
}

// The deep chain: session 10 lost its leader (the daemon's first fork); in it, group 20 lost its
// leader too. Adopted by the init: 11 (session 10, group 10), 21 (group 20) and the zombie 22
// (group 20). 23 is 21's child. 12 is 11's child that joined group 20 while it had members.
TEST(RestoreTreePlan, SessionAndGroupWhoseLeadersExitedWithZombieAndOrphan) {
  std::vector<image::ProcessEntry> tree = {entry(1, 0, 1, 1),  entry(11, 1, 10, 10), entry(21, 1, 20, 10),
                                           entry(22, 1, 20, 10), entry(12, 11, 20, 10), entry(23, 21, 20, 10)};
  tree[3].set_zombie(true);
  std::vector<std::string> problems;
  TreePlan plan = plan_tree(tree, &problems);
  ASSERT_TRUE(problems.empty()) << joined(problems);
  ASSERT_EQ(plan.helpers.size(), 2u);
  const HelperPlan& session = plan.helpers[0];
  const HelperPlan& group = plan.helpers[1];
  EXPECT_EQ(session.pid, 10u);
  EXPECT_EQ(session.session, SessionAction::NewSession);
  EXPECT_EQ(group.pid, 20u);
  EXPECT_EQ(group.session, SessionAction::NewGroup);
  // The init forks the session's helper, which forks the group's helper first, then 11.
  EXPECT_EQ(plan.processes[0].helpers, (std::vector<size_t>{0}));
  EXPECT_EQ(session.helpers, (std::vector<size_t>{1}));
  EXPECT_EQ(session.children, (std::vector<size_t>{1}));
  EXPECT_EQ(group.children, (std::vector<size_t>{2, 3}));
  EXPECT_EQ(plan.processes[2].children, (std::vector<size_t>{5}));
  EXPECT_EQ(plan.processes[4].session, SessionAction::JoinGroup);  // 12 joins 20, which 21 and 22 keep alive
  EXPECT_EQ(plan.processes[5].session, SessionAction::Inherit);
  EXPECT_EQ(plan.creation_order, (std::vector<size_t>{0, 2, 5, 3, 1, 4}));
}

TEST(RestoreTreePlan, LeaderlessGroupWithMembersInTwoBranchesIsMadeByTheFirstOne) {
  // Session 11: its leader's children 13 (leads group 13) and 12 (group 20); 13's child 21 (group 20).
  std::vector<image::ProcessEntry> tree = {entry(1, 0, 1, 1), entry(11, 1, 11, 11), entry(13, 11, 13, 11),
                                           entry(21, 13, 20, 11), entry(12, 11, 20, 11)};
  std::vector<std::string> problems;
  TreePlan plan = plan_tree(tree, &problems);
  ASSERT_TRUE(problems.empty()) << joined(problems);
  EXPECT_EQ(plan.creation_order, (std::vector<size_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(plan.processes[3].helpers, (std::vector<size_t>{0}));  // 21 is created first
  EXPECT_EQ(plan.processes[3].session, SessionAction::JoinGroup);
  EXPECT_EQ(plan.processes[4].session, SessionAction::JoinGroup);
  EXPECT_TRUE(plan.processes[4].helpers.empty());
}

TEST(RestoreTreePlan, RefusesAChildBornInASessionItsParentLeft) {
  // 21 is in session 11 but its parent 13 leads session 13.
  std::vector<image::ProcessEntry> tree = {entry(1, 0, 1, 1), entry(11, 1, 11, 11), entry(13, 1, 13, 13),
                                           entry(21, 13, 20, 11)};
  std::vector<std::string> problems;
  plan_tree(tree, &problems);
  EXPECT_NE(joined(problems).find("pid 21 is in session 11 but its parent pid 13 is in session 13"), std::string::npos)
      << joined(problems);
}

TEST(RestoreTreePlan, RefusesALeaderlessGroupSpanningTwoSessions) {
  std::vector<image::ProcessEntry> tree = {entry(1, 0, 1, 1), entry(2, 1, 9, 1), entry(3, 1, 3, 3), entry(4, 3, 9, 3)};
  std::vector<std::string> problems;
  plan_tree(tree, &problems);
  EXPECT_NE(joined(problems).find("process group 9 spans sessions 1 and 3"), std::string::npos) << joined(problems);
}

TEST(RestoreTreePlan, RefusesAHelperPidThatIsAThread) {
  std::vector<image::ProcessEntry> tree = {entry(1, 0, 1, 1), entry(2, 1, 5, 5)};
  tree[0].add_threads(5);
  std::vector<std::string> problems;
  plan_tree(tree, &problems);
  EXPECT_NE(joined(problems).find("5 is also a thread"), std::string::npos) << joined(problems);
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
