// inotify fds survive a checkpoint with their watches under the same wds (gaps included), their
// masks and flags, and no event queued by the restore itself; tests/workloads/cr_inotify.c checks.
// The refusals (events queued, a watched file deleted) are in checkpoint_refusals_test.cc.
#include <gtest/gtest.h>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

TEST(CheckpointFdInotify, WatchesKeepTheirNumbersMasksAndFlags) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_inotify", {"--dir=" + session.dir().path()});
}

// Fds that share one inotify instance (fork) get one, made once by restore's helper for both.
TEST(CheckpointFdInotify, AnInstanceSharedWithAChildIsOneAgain) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_inotify", {"--dir=" + session.dir().path(), "--fork"});
}

}  // namespace
}  // namespace cryo::e2e
