#include <gtest/gtest.h>
#include <linux/mempolicy.h>

#include <string>
#include <vector>

#include "state/thread/mempolicy.h"

namespace cryo {
namespace {

std::vector<std::string> problems_of(uint32_t mode, uint64_t nodemask) {
  image::ThreadCore thread;
  thread.mutable_mempolicy()->set_mode(mode);
  thread.mutable_mempolicy()->set_nodemask(nodemask);
  std::vector<std::string> problems;
  validate_mempolicy(thread, [&](const std::string& text) { problems.push_back(text); });
  return problems;
}

TEST(MempolicyValidation, PoliciesSetMempolicySetsPass) {
  EXPECT_TRUE(problems_of(MPOL_INTERLEAVE | MPOL_F_STATIC_NODES, 1).empty());
  EXPECT_TRUE(problems_of(MPOL_PREFERRED | MPOL_F_RELATIVE_NODES, 2).empty());
  EXPECT_TRUE(problems_of(MPOL_BIND | MPOL_F_NUMA_BALANCING, 3).empty());
  EXPECT_TRUE(problems_of(MPOL_LOCAL, 0).empty());
  EXPECT_TRUE(problems_of(6 /* MPOL_WEIGHTED_INTERLEAVE */, 1).empty());
  image::ThreadCore without;
  std::vector<std::string> problems;
  validate_mempolicy(without, [&](const std::string& text) { problems.push_back(text); });
  EXPECT_TRUE(problems.empty());
}

TEST(MempolicyValidation, UnknownModesFlagsAndMissingNodesAreProblems) {
  EXPECT_EQ(problems_of(MPOL_DEFAULT, 0).size(), 1u);  // The default is never written.
  EXPECT_EQ(problems_of(7, 1).size(), 1u);
  EXPECT_EQ(problems_of(MPOL_BIND | (1u << 12), 1).size(), 1u);
  EXPECT_EQ(problems_of(MPOL_BIND | MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES, 1).size(), 1u);
  EXPECT_EQ(problems_of(MPOL_INTERLEAVE, 0).size(), 1u);
  EXPECT_EQ(problems_of(MPOL_LOCAL, 1).size(), 1u);
}

}  // namespace
}  // namespace cryo
