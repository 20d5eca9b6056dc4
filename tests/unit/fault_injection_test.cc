// The fault injection switch (CRYO_FAIL_AT, see src/base/fault_injection.h) and its list of steps,
// which must be exactly the fault points the sources have: the e2e fault tests iterate over the list.
#include "base/fault_injection.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace cryo {
namespace {

TEST(FaultInjection, FailsOnlyAtTheNamedStep) {
  ::setenv(kFailAtVariable, "dump:after-freeze", 1);
  auto at = fault_point("dump:after-freeze");
  auto other = fault_point("dump:after-pages");
  ::unsetenv(kFailAtVariable);
  ASSERT_FALSE(at.has_value());
  EXPECT_EQ(at.error().message, "injected failure at dump:after-freeze");
  EXPECT_TRUE(other.has_value());
  EXPECT_TRUE(fault_point("dump:after-freeze").has_value()) << "fails without the variable";
}

TEST(FaultInjection, AStepMissingFromTheListAlwaysFails) {
  auto unlisted = fault_point("dump:not-a-step");
  ASSERT_FALSE(unlisted.has_value());
  EXPECT_NE(unlisted.error().message.find("not listed"), std::string::npos) << unlisted.error().message;
}

// Every fault_point("...") in src/ names a listed step, and every listed step has a fault point.
TEST(FaultInjection, TheListIsExactlyTheFaultPointsInTheSources) {
  std::set<std::string> in_sources;
  std::regex call(R"re(fault_point\("([^"]+)"\))re");
  for (const auto& entry : std::filesystem::recursive_directory_iterator(CRYO_SOURCE_DIR)) {
    if (entry.path().extension() != ".cc" || entry.path().filename() == "fault_injection.cc") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    std::string source = text.str();
    for (std::sregex_iterator it(source.begin(), source.end(), call), end; it != end; ++it)
      EXPECT_TRUE(in_sources.insert((*it)[1]).second) << (*it)[1] << " has two fault points";
  }
  std::set<std::string> listed(fault_steps().begin(), fault_steps().end());
  EXPECT_EQ(in_sources, listed);
}

}  // namespace
}  // namespace cryo
