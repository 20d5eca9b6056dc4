// The mutants of tests/mutants/ (scripts/mutants.sh) are kept honest: each still applies to today's
// sources and names the tests that must catch it, so a change of the code cannot quietly turn one
// into a patch that no longer switches anything off.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace cryo {
namespace {

TEST(Mutants, EveryPatchAppliesToTheSourcesAndNamesItsTests) {
  const std::string source = std::string(CRYO_TEST_FIXTURES) + "/../..";
  std::string command = "bash " + source + "/scripts/mutants.sh --check 2>&1";
  FILE* out = ::popen(command.c_str(), "r");
  ASSERT_NE(out, nullptr);
  std::string text;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, out)) text += buffer;
  int status = ::pclose(out);
  EXPECT_EQ(status, 0) << text;
}

}  // namespace
}  // namespace cryo
