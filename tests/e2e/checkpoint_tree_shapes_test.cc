// The shape of the tree survives dump and restore: sessions and process groups whose leader has
// exited (recreated by helpers with the leader's PID), with zombies and adopted orphans in them;
// processes stopped by job control.
#include <gtest/gtest.h>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

class CheckpointTreeShapes : public ::testing::TestWithParam<std::string> {};

TEST_P(CheckpointTreeShapes, SessionsAndGroupsWhoseLeaderExitedKeepEveryId) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_sessions", {}, {"--pid-method", GetParam()});
}

// Stopped by SIGTSTP (collected by the parent) and by SIGSTOP (two threads, not collected): both
// come back stopped, their parent's waitpid(WUNTRACED) sees what it would have, and SIGCONT resumes them.
TEST_P(CheckpointTreeShapes, JobControlStopsStayStoppedAndReportedAsBefore) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_stopped", {}, {"--pid-method", GetParam()});
}

INSTANTIATE_TEST_SUITE_P(PidMethods, CheckpointTreeShapes, ::testing::ValuesIn(pid_methods()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cryo::e2e
