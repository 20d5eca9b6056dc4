#include "kernel/proc_numa_maps.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace cryo {
namespace {

// As this kernel writes them.
const char* kDefaultTask =
    "560e07752000 default file=/usr/bin/head mapped=2 N0=2 kernelpagesize_kB=4\n"
    "7f3a00000000 bind:0 anon=1 dirty=1 active=0 N0=1 kernelpagesize_kB=4\n"
    "7ffd1c9e6000 default stack anon=3 dirty=3 N0=3 kernelpagesize_kB=4\n";
// A task of policy interleave (numactl --interleave): every mapping without its own shows it.
const char* kInterleavedTask =
    "560e07752000 interleave=static:0 file=/usr/bin/head mapped=2 N0=2 kernelpagesize_kB=4\n"
    "7f3a00000000 interleave=static:0 anon=1 dirty=1 N0=1 kernelpagesize_kB=4\n"
    "7ffd1c9e6000 interleave=static:0 stack anon=3 dirty=3 N0=3 kernelpagesize_kB=4\n";

TEST(ProcNumaMaps, ParsesEachMappingsStartAndPolicy) {
  auto mappings = parse_numa_maps(kDefaultTask);
  ASSERT_TRUE(mappings) << mappings.error().message;
  ASSERT_EQ(mappings->size(), 3u);
  EXPECT_EQ((*mappings)[1].start, 0x7f3a00000000u);
  EXPECT_EQ((*mappings)[1].policy, "bind:0");
  EXPECT_EQ((*mappings)[2].policy, "default");
}

TEST(ProcNumaMaps, AMappingUnlikeTheRestHasAPolicyOfItsOwn) {
  auto own = mapping_with_a_policy_of_its_own(*parse_numa_maps(kDefaultTask));
  ASSERT_TRUE(own);
  EXPECT_EQ(own->policy, "bind:0");
  EXPECT_FALSE(mapping_with_a_policy_of_its_own(*parse_numa_maps(kInterleavedTask)));
  // One of two: the default is taken for the task's.
  auto half = parse_numa_maps("1000 default\n2000 prefer:0\n");
  ASSERT_TRUE(half);
  ASSERT_TRUE(mapping_with_a_policy_of_its_own(*half));
  EXPECT_EQ(mapping_with_a_policy_of_its_own(*half)->policy, "prefer:0");
}

TEST(ProcNumaMaps, AGarbageLineIsAnError) {
  EXPECT_FALSE(parse_numa_maps("not-an-address default\n"));
  EXPECT_FALSE(parse_numa_maps("7f3a00000000\n"));
}

TEST(ProcNumaMaps, ThisProcessHasNoMappingWithAPolicyOfItsOwn) {
  auto mappings = read_numa_maps(::getpid());
  ASSERT_TRUE(mappings) << mappings.error().message;
  EXPECT_FALSE(mapping_with_a_policy_of_its_own(*mappings));
}

}  // namespace
}  // namespace cryo
