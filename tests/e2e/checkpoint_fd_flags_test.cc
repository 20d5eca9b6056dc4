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

// What the dump cannot give back exactly is refused, naming the fd, and the tree runs on untouched.
void expect_refused(const std::string& option, const std::string& must_mention) {
  CheckpointSession session;
  std::string files = session.dir() / "files";
  ASSERT_EQ(::mkdir(files.c_str(), 0700), 0);
  pid_t init = session.start("cr_fdflags", {"--dir=" + files, option});
  ASSERT_GT(init, 0);
  CommandResult result = session.dump(init, session.image_path());
  expect_one_clear_error(result, must_mention);
  session.expect_pass_after_check(init);
}

// A read never crosses the end of a packet and drops what it leaves of one: pipes.img has no room
// for the boundaries yet.
TEST(CheckpointFdFlags, PacketModeDataInAPipeIsRefused) {
  expect_refused("--packets=1", "holds data written in packet mode (O_DIRECT)");
}

// O_TMPFILE stays in the open file's flags and only an open that creates a file can give it.
TEST(CheckpointFdFlags, AnOTmpfileFileIsRefused) { expect_refused("--tmpfile=1", "was opened with O_TMPFILE"); }

TEST(CheckpointFdFlags, AFileLeaseIsRefused) { expect_refused("--lease=1", "a file lease"); }

}  // namespace
}  // namespace cryo::e2e
