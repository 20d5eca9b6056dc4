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

// The golden image decodes to exactly the text and JSON committed beside it (reviewed once: every
// image kind, with the counter's PID 1, its 49-day clock offsets and the hostname "golden").
// Regenerate them with `cryo show -D images/golden/v1-counter [--json]` only for a deliberate change
// of the format or of show's output, and review the diff.
TEST(Show, GoldenImageDecodesToTheCommittedTextAndJson) {
  const std::string image = std::string(CRYO_GOLDEN_IMAGES) + "/v1-counter";
  const std::string fixtures = std::string(CRYO_TEST_FIXTURES) + "/show/v1-counter";
  auto text = run_cryo({"show", "-D", image});
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_EQ(text.out, slurp(fixtures + ".txt"));
  auto json = run_cryo({"show", "-D", image, "--json"});
  EXPECT_EQ(json.status, 0) << json.err;
  EXPECT_EQ(json.out, slurp(fixtures + ".json"));
  // A few facts, so that a fixture regenerated from a broken decoder does not pass unread.
  EXPECT_NE(text.out.find("hostname: \"golden\""), std::string::npos);
  EXPECT_NE(json.out.find("\"pstree.img\""), std::string::npos);
  for (const char* kind : {"inventory.img", "core-1.img", "files-1.img", "mm-1.img", "namespaces.img", "pagemap-1.img", "pstree.img"})
    EXPECT_NE(text.out.find(std::string("== ") + kind + " =="), std::string::npos) << kind;
}

}  // namespace
}  // namespace cryo::e2e
