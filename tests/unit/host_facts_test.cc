// Host facts: the CPU flags come from the first processor of /proc/cpuinfo in its order, and this
// host's facts are read whole (the same ones the inventory records and the host check compares).
#include "kernel/host_facts.h"

#include <sys/utsname.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cryo {
namespace {

TEST(HostFacts, CpuFlagsAreTheFirstProcessorsInTheirOrder) {
  const char* cpuinfo =
      "processor\t: 0\n"
      "vendor_id\t: GenuineIntel\n"
      "flags\t\t: fpu vme  sse avx\n"
      "bugs\t\t: spectre_v1\n"
      "\n"
      "processor\t: 1\n"
      "flags\t\t: fpu other\n";
  EXPECT_EQ(parse_cpu_flags(cpuinfo), (std::vector<std::string>{"fpu", "vme", "sse", "avx"}));
}

TEST(HostFacts, NoFlagsLineGivesNoFlags) {
  EXPECT_TRUE(parse_cpu_flags("processor\t: 0\nflagsless\n").empty());
  EXPECT_TRUE(parse_cpu_flags("").empty());
}

TEST(HostFacts, ThisHostIsReadWhole) {
  auto facts = read_host_facts();
  ASSERT_TRUE(facts) << facts.error().message;
  utsname uts{};
  ASSERT_EQ(::uname(&uts), 0);
  EXPECT_EQ(facts->kernel_release, uts.release);
  EXPECT_EQ(facts->arch, uts.machine);
  EXPECT_FALSE(facts->cpu_flags.empty());
  EXPECT_FALSE(facts->boot_id.empty());
  EXPECT_FALSE(facts->boot_id_error.has_value());
  EXPECT_NE(find_special_mapping(facts->vdso_layout, "[vdso]"), nullptr);
}

}  // namespace
}  // namespace cryo
