// inotify fds survive a checkpoint with their watches under the same wds (gaps included), their
// masks and flags, and no event queued by the restore itself; tests/workloads/cr_inotify.c checks.
// The refusals (events queued, a watched file deleted) are in checkpoint_refusals_test.cc.
#include <stdio.h>
#include <unistd.h>

#include <fstream>

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

// A watched file replaced between dump and restore (same path, another inode) would be watched in
// the dump's place: restore's host check refuses before anything is created, naming the watch and
// its path (the placeholder checks again when it adds the watch).
TEST(CheckpointFdInotify, AWatchedFileReplacedSinceTheDumpIsRefused) {
  CheckpointSession session;
  pid_t init = session.start("cr_inotify", {"--dir=" + session.dir().path()});
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  std::string watched = session.dir() / "w/a";
  ASSERT_EQ(::unlink(watched.c_str()), 0);
  std::ofstream(watched) << "another file";
  CommandResult result = session.restore(session.image_path());
  // ext4 and tmpfs give the new file the inode number just freed: the file handle, with the inode's
  // generation, tells them apart.
  expect_one_clear_error(result, "inotify watch 3 (" + watched + "): the path is another file than the one watched at dump");
  session.expect_nothing_left_running();
}

}  // namespace
}  // namespace cryo::e2e
