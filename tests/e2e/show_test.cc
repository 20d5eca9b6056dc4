#include <gtest/gtest.h>

#include "e2e/harness.h"

namespace cryo::e2e {
namespace {

TEST(Show, MissingDirectoryIsOneClearError) {
  TempDir tmp;
  auto result = run_cryo({"show", "-D", tmp / "nope"});
  EXPECT_EQ(result.status, 1);
  EXPECT_EQ(result.err.rfind("cryo: error: image directory " + (tmp / "nope"), 0), 0u) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
}

TEST(Show, EmptyDirectoryIsNotAnImage) {
  TempDir tmp;
  auto result = run_cryo({"show", "-D", tmp.path()});
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.err.find("holds no complete image"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace cryo::e2e
