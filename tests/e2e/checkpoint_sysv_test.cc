// System V shared memory of the tree's own IPC namespace survives dump and restore: every segment
// comes back with its id, key, owners, creator, mode and bytes, attached where it was, and stays
// shared by the processes that attach it.
#include <gtest/gtest.h>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

// cr_sysv: a segment attached by the init and its child (once read-only), one attached by nobody
// (created by another user, owner and mode changed), and one removed while attached; after restore
// each process checks ids (shmget of the key), owners, modes, attach counts, bytes, and sees the
// other's writes.
TEST(SysvIpc, SharedMemorySegmentsComeBackWithIdsOwnersAndContents) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_sysv");
}

}  // namespace
}  // namespace cryo::e2e
