// /proc/PID/statm: the progress line's estimate of what a dump reads.
#include "kernel/proc_statm.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace cryo {
namespace {

TEST(ProcStatm, ParsesTheKernelsSevenFields) {
  auto statm = parse_proc_statm("26341 4097 1024 245 0 18044 0\n");
  ASSERT_TRUE(statm) << statm.error().message;
  EXPECT_EQ(statm->size_pages, 26341u);
  EXPECT_EQ(statm->resident_pages, 4097u);
  EXPECT_EQ(statm->shared_pages, 1024u);
  EXPECT_EQ(statm->private_resident_bytes(), (4097u - 1024u) * 4096u);
  // More shared than resident (a race between the two counters) is no private memory, not a wrap.
  EXPECT_EQ(parse_proc_statm("10 5 7 0 0 0 0")->private_resident_bytes(), 0u);
}

TEST(ProcStatm, RefusesWhatIsNotStatm) {
  for (const char* text : {"", "1 2 3", "1 2 3 4 5 6 x", "1 2 3 4 5 6 7 8", "-1 2 3 4 5 6 7"})
    EXPECT_FALSE(parse_proc_statm(text)) << text;
}

TEST(ProcStatm, ReadsItsOwn) {
  auto statm = read_proc_statm(::getpid());
  ASSERT_TRUE(statm) << statm.error().message;
  EXPECT_GT(statm->resident_pages, 0u);
}

}  // namespace
}  // namespace cryo
