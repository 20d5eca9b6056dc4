#include "restore/live_copy.h"

#include <gtest/gtest.h>

#include "kernel/tree_identity.h"

namespace cryo::restore {
namespace {

constexpr const char* kBoot = "a5529994-f042-4484-97d7-7574db77e1fa";

image::TreeIdentity source() {
  image::TreeIdentity id;
  id.set_boot_id(kBoot);
  id.set_pidns_inode(4026532181);
  id.set_init_start_time(229842);
  return id;
}

TEST(LiveCopy, RefusesOnlyWhileTheSameTreeRunsOnTheSameBoot) {
  TreeIdentityFacts same{kBoot, 4026532181, 229842};
  EXPECT_NE(live_source_refusal(source(), 77, same, kBoot).find("host PID 77"), std::string::npos);
  // Gone, another boot, a reused PID (another start time) or another namespace: no live copy.
  EXPECT_EQ(live_source_refusal(source(), 77, std::nullopt, kBoot), "");
  EXPECT_EQ(live_source_refusal(source(), 77, same, "00000000-f042-4484-97d7-7574db77e1fa"), "");
  EXPECT_EQ(live_source_refusal(source(), 77, TreeIdentityFacts{kBoot, 4026532181, 229843}, kBoot), "");
  EXPECT_EQ(live_source_refusal(source(), 77, TreeIdentityFacts{kBoot, 4026532182, 229842}, kBoot), "");
}

TEST(TreeIdentity, StartTimeIsField22EvenWithSpacesInTheName) {
  std::string line =
      "1234 (a (b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000000 100 18446744073709551615";
  EXPECT_EQ(parse_start_time(line), 987654u);
  EXPECT_EQ(parse_start_time("garbage"), 0u);
}

TEST(TreeIdentity, ReadsThisProcess) {
  auto facts = read_tree_identity(::getpid());
  ASSERT_TRUE(facts) << facts.error().message;
  EXPECT_EQ(facts->boot_id.size(), 36u);
  EXPECT_GT(facts->pidns_inode, 0u);
  EXPECT_GT(facts->init_start_time, 0u);
}

}  // namespace
}  // namespace cryo::restore
