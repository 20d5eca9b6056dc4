// Copy-on-write sharing between a parent and its forked children survives dump and restore: the
// workload checks page identity itself (frame numbers in /proc/PID/pagemap), and the tree's memory
// footprint (the sum of every process's Pss) is what it was before the dump, not one copy per process.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

class CheckpointCow : public ::testing::TestWithParam<std::string> {};

// Pss of one process in KiB, from /proc/PID/smaps_rollup (0 when it cannot be read).
uint64_t pss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string name;
    uint64_t kib = 0;
    if (fields >> name >> kib && name == "Pss:") return kib;
  }
  return 0;
}

// The tree under `init` (inclusive): its process count and the sum of their Pss.
std::pair<size_t, uint64_t> tree_pss_kib(pid_t init) {
  std::vector<pid_t> todo{init};
  size_t count = 0;
  uint64_t sum = 0;
  while (!todo.empty()) {
    pid_t pid = todo.back();
    todo.pop_back();
    ++count;
    sum += pss_kib(pid);
    for (pid_t child : children_of(pid)) todo.push_back(child);
  }
  return {count, sum};
}

TEST_P(CheckpointCow, PagesSharedSinceForkStaySharedAndTheFootprintStays) {
  CheckpointSession session;
  pid_t init = session.start("cr_cow", {"--pages=8192"});  // 32 MiB, shared by 6 processes.
  ASSERT_NE(init, 0);
  auto [count_before, before] = tree_pss_kib(init);
  ASSERT_EQ(count_before, 6u);
  ASSERT_GE(before, 32u * 1024);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  pid_t restored = session.restore_ok(session.image_path(), {"--pid-method", GetParam()});
  ASSERT_NE(restored, 0);
  auto [count_after, after] = tree_pss_kib(restored);
  EXPECT_EQ(count_after, 6u);
  // One copy per process would be about 6 x 32 MiB; a few MiB more than before is the restore's
  // own rounding (page tables are not in Pss; a few pages each process wrote again).
  EXPECT_LE(after, before + before / 8 + 4096) << "Pss of the tree: " << before << " KiB before the dump, " << after
                                               << " KiB after the restore";
  std::cout << "Pss of the tree: " << before << " KiB before the dump, " << after << " KiB after the restore\n";
  session.expect_pass_after_check(restored);
}

INSTANTIATE_TEST_SUITE_P(PidMethods, CheckpointCow, ::testing::ValuesIn(pid_methods()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace cryo::e2e
