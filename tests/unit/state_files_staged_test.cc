// The staged fds (state/files/staged_files.h): what the helper stages sits above every fd number of
// the image, and the stage slots of the table of fd kinds are what restore's staging loops over.
#include "state/files/staged_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "state/files/fd_kinds.h"

namespace cryo::state {
namespace {

TEST(StagedFiles, MoveFdAboveKeepsTheOpenFileAndClosesTheOldNumber) {
  int ends[2];
  ASSERT_EQ(::pipe(ends), 0);
  auto moved = move_fd_above(ends[1], 100);
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_GE(*moved, 100);
  EXPECT_EQ(::fcntl(ends[1], F_GETFD), -1);
  EXPECT_EQ(::write(*moved, "x", 1), 1);
  char got = 0;
  EXPECT_EQ(::read(ends[0], &got, 1), 1);
  EXPECT_EQ(got, 'x');
  ::close(*moved);
  ::close(ends[0]);
}

TEST(StagedFiles, OnlyKindsStagedByTheirOwnIdHaveAStageStep) {
  for (const FdKindOps& ops : fd_kinds()) {
    if (ops.stage) {
      EXPECT_EQ(ops.sharing, FdSharing::Staged) << ops.name;
    }
  }
}

}  // namespace
}  // namespace cryo::state
