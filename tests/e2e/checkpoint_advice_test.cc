// Per-mapping advice, locks, seals and guard regions (the VmFlags of smaps), mlockall(MCL_FUTURE)
// and KSM merge-any come back exactly: cr_madvise checks its own VmFlags, data, guards and the
// DONTFORK/WIPEONFORK semantics of a fork made after the restore, and restore's verification
// compares every VmFlags line.
#include <gtest/gtest.h>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

TEST(CheckpointAdvice, EveryAdviceLockSealAndGuardSurvives) {
  CheckpointSession session;
  // With a read-only shared mapping of a file opened read-write (VmFlags mw) in the session's directory.
  session.expect_round_trip_passes("cr_madvise", {"--dir=" + session.dir().path()});
}

TEST(CheckpointAdvice, MlockallFutureSurvives) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_madvise", {"--mlockall=1"});
}

TEST(CheckpointAdvice, MlockallOnFaultAndKsmMergeAnySurvive) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_madvise", {"--mlockall=2", "--merge-any=1"});
}

}  // namespace
}  // namespace cryo::e2e
