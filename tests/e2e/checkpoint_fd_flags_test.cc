// File status flags (O_NONBLOCK, O_APPEND, O_DIRECT, O_SYNC, O_ASYNC ...), close-on-exec, the O_ASYNC
// owner and signal of every kind of fd survive a checkpoint exactly, or the dump refuses naming the
// fd: tests/workloads/cr_fdflags.c says what it holds and checks.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

TEST(CheckpointFdFlags, EveryFdKeepsItsStatusFlagsOwnerAndSignal) {
  CheckpointSession session;
  std::string files = session.dir() / "files";
  ASSERT_EQ(::mkdir(files.c_str(), 0700), 0);
  session.expect_round_trip_passes("cr_fdflags", {"--dir=" + files});
}

}  // namespace
}  // namespace cryo::e2e
