// Open files and signal state survive dump and restore.
#include <gtest/gtest.h>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

TEST(CheckpointFiles, PositionsFlagsAndAppendsContinue) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_files", {"--dir=" + session.dir().path()});
}

TEST(CheckpointAttributes, UmaskRlimitsAndCwdSurvive) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_attributes", {"--dir=" + session.dir().path()});
}

TEST(CheckpointSignals, HandlersMasksPendingSignalsAndAltstackSurvive) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_signals");
}

TEST(CheckpointTimers, PosixTimersAndItimersKeepIdsNotificationsAndTimeLeft) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_timers");
}

TEST(CheckpointTree, ZombiesKeepTheirStatusAndOrphansTheirNewParent) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_zombies");
}

}  // namespace
}  // namespace cryo::e2e
