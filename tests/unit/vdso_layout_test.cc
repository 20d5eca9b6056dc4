#include "kernel/vdso_layout.h"

#include <gtest/gtest.h>

#include "base/file_util.h"

namespace cryo {
namespace {

std::string fixture(const std::string& name) {
  auto text = read_file(std::string(CRYO_TEST_FIXTURES) + "/vdso/" + name);
  EXPECT_TRUE(text.has_value()) << name;
  return text ? *text : "";
}

TEST(VdsoLayout, Kernel618HasThreeContiguousMappingsAndVsyscall) {
  auto mappings = parse_special_mappings(fixture("maps_kernel_6_18.txt"));
  ASSERT_TRUE(mappings.has_value()) << mappings.error().message;
  std::vector<SpecialMapping> expected = {
      {"[vvar]", 0x7f668c224000, 0x7f668c228000},
      {"[vvar_vclock]", 0x7f668c228000, 0x7f668c22a000},
      {"[vdso]", 0x7f668c22a000, 0x7f668c22c000},
      {"[vsyscall]", 0xffffffffff600000, 0xffffffffff601000},
  };
  EXPECT_EQ(*mappings, expected);
  EXPECT_EQ(describe_special_mappings(*mappings), "[vvar] 4 pages, [vvar_vclock] 2 pages, [vdso] 2 pages, [vsyscall] 1 page");
}

TEST(VdsoLayout, Kernel61HasNoVvarVclock) {
  auto mappings = parse_special_mappings(fixture("maps_kernel_6_1.txt"));
  ASSERT_TRUE(mappings.has_value()) << mappings.error().message;
  ASSERT_EQ(mappings->size(), 3u);
  EXPECT_EQ(find_special_mapping(*mappings, "[vvar_vclock]"), nullptr);
  ASSERT_NE(find_special_mapping(*mappings, "[vdso]"), nullptr);
  EXPECT_EQ(find_special_mapping(*mappings, "[vdso]")->size(), 0x2000u);
  // [heap] and [stack] are bracketed too, but they are ordinary memory.
  EXPECT_EQ(find_special_mapping(*mappings, "[heap]"), nullptr);
}

TEST(VdsoLayout, MalformedLineIsAnError) {
  auto mappings = parse_special_mappings("7ffc5e9f6000-zz r--p 00000000 00:00 0 [vvar]\n");
  EXPECT_FALSE(mappings.has_value());
}

TEST(VdsoLayout, OwnProcessHasAVdso) {
  auto mappings = read_special_mappings();
  ASSERT_TRUE(mappings.has_value()) << mappings.error().message;
  EXPECT_NE(find_special_mapping(*mappings, "[vdso]"), nullptr);
}

}  // namespace
}  // namespace cryo
