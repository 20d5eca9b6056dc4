#include "kernel/proc_limits.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/file_util.h"

namespace cryo {
namespace {

std::string fixture(const std::string& name) {
  auto text = read_file(std::string(CRYO_TEST_FIXTURES) + "/proc/" + name);
  EXPECT_TRUE(text) << name;
  return text ? *text : "";
}

// Captured on this kernel from `ulimit -Sn 200; ulimit -Ss 4096; ulimit -Hc 1024`.
TEST(ProcLimits, ParsesLoweredLimitsCapturedOnThisKernel) {
  auto limits = parse_proc_limits(fixture("limits_lowered.txt"));
  ASSERT_TRUE(limits) << limits.error().message;
  ASSERT_EQ(limits->size(), static_cast<size_t>(RLIMIT_NLIMITS));
  EXPECT_EQ((*limits)[RLIMIT_NOFILE].cur, 200u);
  EXPECT_EQ((*limits)[RLIMIT_STACK].cur, 4096u * 1024);
  EXPECT_EQ((*limits)[RLIMIT_STACK].max, RLIM_INFINITY);
  EXPECT_EQ((*limits)[RLIMIT_CORE].max, 1024u * 1024);
  EXPECT_EQ((*limits)[RLIMIT_CPU].cur, RLIM_INFINITY);
  EXPECT_EQ((*limits)[RLIMIT_RTPRIO].cur, 0u);
}

// What prlimit says of this very process, row by row.
TEST(ProcLimits, AgreesWithPrlimitForThisProcess) {
  auto limits = read_proc_limits(::getpid());
  ASSERT_TRUE(limits) << limits.error().message;
  for (int resource = 0; resource < RLIMIT_NLIMITS; ++resource) {
    struct rlimit64 expected;
    ASSERT_EQ(::prlimit64(0, static_cast<__rlimit_resource>(resource), nullptr, &expected), 0);
    EXPECT_EQ((*limits)[resource].cur, expected.rlim_cur) << "resource " << resource;
    EXPECT_EQ((*limits)[resource].max, expected.rlim_max) << "resource " << resource;
  }
}

TEST(ProcLimits, RefusesMissingRowsAndBadNumbers) {
  std::string text = fixture("limits_lowered.txt");
  EXPECT_FALSE(parse_proc_limits(text.substr(0, text.rfind("Max realtime timeout"))));
  std::string bad = text;
  bad.replace(bad.find("200 "), 3, "2x0");
  EXPECT_FALSE(parse_proc_limits(bad));
  std::string renamed = text;
  renamed.replace(renamed.find("Max open files"), 14, "Max open filez");
  EXPECT_FALSE(parse_proc_limits(renamed));
  EXPECT_FALSE(parse_proc_limits(""));
}

}  // namespace
}  // namespace cryo
