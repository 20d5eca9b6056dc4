// fanotify fds survive a checkpoint with their group flags and inode marks, nothing queued by the
// restore itself, and events for later changes; tests/workloads/cr_fanotify.c checks. The refusals
// (mount marks, events queued, permission classes) are in checkpoint_refusals_test.cc.
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

TEST(CheckpointFdFanotify, InodeMarksComeBackAndReportLaterChanges) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_fanotify", {"--dir=" + session.dir().path()});
}

// Fds that share one fanotify group (fork) get one, made once by restore's helper for both.
TEST(CheckpointFdFanotify, AGroupSharedWithAChildIsOneAgain) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_fanotify", {"--dir=" + session.dir().path(), "--fork"});
}

// A marked file replaced between dump and restore would be marked in the dump's place: restore's
// host check refuses before anything is created, naming the mark and its path.
TEST(CheckpointFdFanotify, AMarkedFileReplacedSinceTheDumpIsRefused) {
  CheckpointSession session;
  pid_t init = session.start("cr_fanotify", {"--dir=" + session.dir().path()});
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  std::string marked = session.dir() / "g";
  ASSERT_EQ(::unlink(marked.c_str()), 0);
  std::ofstream(marked) << "another file";
  CommandResult result = session.restore(session.image_path());
  expect_one_clear_error(result, "fanotify mark on " + marked + ": the path is another file than the one watched at dump");
  session.expect_nothing_left_running();
}

}  // namespace
}  // namespace cryo::e2e
