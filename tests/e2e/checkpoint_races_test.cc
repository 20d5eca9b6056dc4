// Moments a dump or a restore meets by chance on a loaded machine, made certain with the hidden
// delays of src/base/fault_injection.h: a timer that expires while the dump reads it, and a
// process released first that kills one cryo still holds.
#include <string>

#include <gtest/gtest.h>

#include "base/fault_injection.h"
#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

// The tree is frozen during a dump, its timers are not. The alarm of cr_expiring_timers falls due
// after the dump has read the pending signals and before it reads the timers: read in that order
// alone, the alarm is in neither and never comes. Its spent and periodic POSIX timers, whose
// signals wait blocked, must not send a second one either.
TEST(CheckpointRaces, ATimerExpiringWhileTheDumpReadsItSendsItsSignalExactlyOnce) {
  CheckpointSession session;
  pid_t init = session.start("cr_expiring_timers", {"--alarm-ms=1000"});
  ASSERT_GT(init, 0);
  {
    ScopedEnv delay(kTimerReadDelayVariable, "2000");
    ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  }
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

// cr_killer kills its children once its deadline has passed, which the shifted clocks make at
// once. Released first and given 200 ms, it kills them while cryo still holds them stopped: the
// restore must let it (they are its to kill) and leave their exit to it, not fail and kill the tree.
TEST(CheckpointRaces, ChildrenKilledByTheirReleasedParentBeforeTheirOwnReleaseAreItsToReap) {
  CheckpointSession session;
  pid_t init = session.start("cr_killer", {"--procs=8", "--after-ms=60000"});
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  pid_t restored = 0;
  {
    ScopedEnv gap(kReleaseGapVariable, "200");
    restored = session.restore_ok(session.image_path(), {"--shift", "2m"});
  }
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
  EXPECT_NE(slurp(session.log_path()).find("killed and reaped 8 children"), std::string::npos) << slurp(session.log_path());
}

}  // namespace
}  // namespace cryo::e2e
