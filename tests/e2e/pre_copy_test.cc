// dump --leave-running --pre-copy (src/dump/pre_copy.h): the memory is copied while the tree runs
// and only what changed is copied at the freeze. The workload (tests/workloads/cr_precopy.c) keeps
// rewriting pages, to data and to zero, during the whole dump and checks every page afterwards,
// and that its memory is not older than the last count it printed before the freeze.
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "base/fault_injection.h"
#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

namespace fs = std::filesystem;

// Nothing of the tracking is left in the process: no mapping registered with a userfaultfd (VmFlags
// uw), no userfaultfd among its fds, and it is not traced.
void expect_untracked(pid_t pid) {
  std::string proc = "/proc/" + std::to_string(pid);
  std::string status = slurp(proc + "/status");
  ASSERT_FALSE(status.empty()) << "pid " << pid << " is gone";
  EXPECT_NE(status.find("TracerPid:\t0\n"), std::string::npos) << "pid " << pid << " is left traced";
  EXPECT_EQ(slurp(proc + "/smaps").find(" uw "), std::string::npos) << "pid " << pid << " keeps a write-protect registration";
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator(proc + "/fd", ec))
    EXPECT_NE(fs::read_symlink(fd.path(), ec).string(), "anon_inode:[userfaultfd]") << "pid " << pid << " holds a userfaultfd";
}

void expect_precopy_round_trip(const std::vector<std::string>& extra) {
  CheckpointSession session;
  // Fast enough that pages are always being written, the freeze included.
  pid_t init = session.start("cr_precopy", {"--mib=64", "--pages-per-ms=128"});
  ASSERT_GT(init, 0);
  ::usleep(300 * 1000);  // A few thousand writes before the dump starts.
  std::vector<std::string> args = {"--leave-running", "--pre-copy"};
  args.insert(args.end(), extra.begin(), extra.end());
  ASSERT_TRUE(session.dump_ok(init, session.image_path(), args));
  std::string log = slurp(session.image_path() + "/dump.log");
  EXPECT_NE(log.find("pre-copy round 1"), std::string::npos) << log;
  EXPECT_NE(log.find("pages pre-copied still hold"), std::string::npos) << "the freeze did not use the pre-copied pages";
  std::string stats = slurp(session.image_path() + "/stats-dump.json");
  EXPECT_NE(stats.find("\"pre_copy\":"), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"pre_copy_rounds\":"), std::string::npos) << stats;
  expect_untracked(init);
  // The tree that ran on is unharmed, and so is the one restored from the image.
  session.expect_pass_after_check(init);
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

TEST(PreCopy, MemoryIsIdenticalAfterRestoreWhileTheWorkloadWrites) { expect_precopy_round_trip({}); }

TEST(PreCopy, CompressedMemoryIsIdenticalAfterRestoreWhileTheWorkloadWrites) { expect_precopy_round_trip({"--compress"}); }

TEST(PreCopy, AFailureMidPreCopyLeavesTheTreeRunningAndUntracked) {
  CheckpointSession session;
  pid_t init = session.start("cr_precopy", {"--mib=32", "--pages-per-ms=4"});
  ASSERT_GT(init, 0);
  CommandResult result;
  ::setenv(kFailAtVariable, "dump:pre-copy-round", 1);
  result = session.dump(init, session.image_path(), {"--leave-running", "--pre-copy"});
  ::unsetenv(kFailAtVariable);
  expect_one_clear_error(result, "injected failure at dump:pre-copy-round");
  EXPECT_FALSE(fs::exists(session.image_path() + "/inventory.img"));
  for (const auto& entry : fs::directory_iterator(session.dir().path()))
    EXPECT_EQ(entry.path().filename().string().find(".cryo-tmp-"), std::string::npos) << "left: " << entry.path();
  expect_untracked(init);
  session.expect_pass_after_check(init);
}

TEST(PreCopy, AWorkloadWithItsOwnUserfaultfdIsRefusedAndLeftAsItWas) {
  CheckpointSession session;
  pid_t init = session.start("cr_precopy", {"--mib=8", "--userfaultfd=1"});
  ASSERT_GT(init, 0);
  CommandResult result = session.dump(init, session.image_path(), {"--leave-running", "--pre-copy"});
  expect_one_clear_error(result, "userfaultfd");
  EXPECT_FALSE(fs::exists(session.image_path() + "/inventory.img"));
  // Its own userfaultfd is still there, and nothing of cryo's: one, not two.
  int uffds = 0;
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(init) + "/fd", ec))
    if (fs::read_symlink(fd.path(), ec).string() == "anon_inode:[userfaultfd]") ++uffds;
  EXPECT_EQ(uffds, 1);
  EXPECT_EQ(slurp("/proc/" + std::to_string(init) + "/smaps").find(" uw "), std::string::npos);
  session.expect_pass_after_check(init);
}

TEST(PreCopy, NeedsLeaveRunning) {
  CheckpointSession session;
  pid_t init = session.start("cr_precopy", {"--mib=1"});
  ASSERT_GT(init, 0);
  CommandResult result = session.dump(init, session.image_path(), {"--pre-copy"});
  EXPECT_NE(result.status, 0);
  EXPECT_NE(result.err.find("--leave-running"), std::string::npos) << result.err;
  expect_untracked(init);
  session.expect_pass_after_check(init);
}

}  // namespace
}  // namespace cryo::e2e
