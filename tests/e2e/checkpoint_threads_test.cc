// Multithreaded processes: every thread comes back with its TID, registers, TLS, mask, pending
// signal, sigaltstack, rseq and clear_child_tid, and the blocking call it was in resumes; with each
// restore PID method, and with the tree left running.
#include <gtest/gtest.h>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

class CheckpointThreads : public ::testing::TestWithParam<std::string> {};

TEST_P(CheckpointThreads, EveryThreadKeepsItsTidStateAndBlockingCall) {
  CheckpointSession session;
  pid_t init = session.start("cr_threads");
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  pid_t restored = session.restore_ok(session.image_path(), {"--pid-method", GetParam()});
  ASSERT_GT(restored, 0);
  EXPECT_EQ(slurp("/proc/" + std::to_string(restored) + "/status").find("Threads:\t6\n") != std::string::npos, true)
      << "the restored process does not have its 6 threads";
  session.expect_pass_after_check(restored);
}

INSTANTIATE_TEST_SUITE_P(PidMethods, CheckpointThreads, ::testing::ValuesIn(pid_methods()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(CheckpointThreads, SchedulingPolicyNiceCpuMaskIoPriorityAndNamesSurvive) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_sched");
}

TEST(CheckpointThreadsLeftRunning, DumpLeavesEveryThreadRunningUnharmed) {
  CheckpointSession session;
  pid_t init = session.start("cr_threads");
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path(), {"--leave-running"}));
  session.expect_pass_after_check(init);
}

}  // namespace
}  // namespace cryo::e2e
