// Open files and signal state survive dump and restore.
#include <gtest/gtest.h>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

TEST(CheckpointFiles, PositionsFlagsAndAppendsContinue) {
  CheckpointSession session;
  pid_t init = session.start("cr_files", {"--dir=" + session.dir().path()});
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

TEST(CheckpointSignals, HandlersMasksPendingSignalsAndAltstackSurvive) {
  CheckpointSession session;
  pid_t init = session.start("cr_signals");
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

TEST(CheckpointTimers, PosixTimersAndItimersKeepIdsNotificationsAndTimeLeft) {
  CheckpointSession session;
  pid_t init = session.start("cr_timers");
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

TEST(CheckpointTree, ZombiesKeepTheirStatusAndOrphansTheirNewParent) {
  CheckpointSession session;
  pid_t init = session.start("cr_zombies");
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

}  // namespace
}  // namespace cryo::e2e
