// Named FIFOs come back as the pipe they were, at their path, with their buffered bytes and every
// fd's own access mode and flags (tests/workloads/cr_fifo.c says what it holds and checks); a FIFO
// that someone outside the tree filled since the dump, or a path that is no FIFO now, stops the
// restore before anything is created. A FIFO removed since the dump is made again, unless its
// directory has gone too.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

TEST(CheckpointFifo, ParentAndChildGetTheirFifoBackWithDataFlagsAndEndOfFile) {
  CheckpointSession session;
  std::string files = session.dir() / "files";
  ASSERT_EQ(::mkdir(files.c_str(), 0700), 0);
  session.expect_round_trip_passes("cr_fifo", {"--dir=" + files});
}

// A daemon's FIFO with no writer at the dump: its buffered bytes, then end-of-file, as before; a
// writer that opens the path later reaches it. (Restore warns that a writer outside the tree, if
// there was one, is not given back.)
TEST(CheckpointFifo, AReaderWithoutWritersGetsItsBytesThenEndOfFileAndNewWriters) {
  CheckpointSession session;
  std::string files = session.dir() / "files";
  ASSERT_EQ(::mkdir(files.c_str(), 0700), 0);
  session.expect_round_trip_passes("cr_fifo", {"--dir=" + files, "--mode=reader"});
}

// Dumps cr_fifo, lets `change` act on the FIFO's path, and expects the restore to refuse naming it.
void expect_restore_refused(const std::function<void(const std::string&)>& change, const std::string& must_mention) {
  CheckpointSession session;
  std::string files = session.dir() / "files";
  ASSERT_EQ(::mkdir(files.c_str(), 0700), 0);
  pid_t init = session.start("cr_fifo", {"--dir=" + files});
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  std::string fifo = files + "/fifo";
  change(fifo);
  CommandResult result = session.restore(session.image_path());
  expect_one_clear_error(result, must_mention);
  EXPECT_NE(result.err.find(fifo), std::string::npos) << result.err;
}

TEST(CheckpointFifo, RestoreRefusesAFifoThatSomeoneElseFilled) {
  int holder = -1;
  expect_restore_refused(
      [&holder](const std::string& fifo) {
        // An outsider holds the FIFO open with data in it: the restore must not hand that to the tree.
        holder = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
        ASSERT_GE(holder, 0);
        ASSERT_EQ(::write(holder, "outsider", 8), 8);
      },
      "already holds 8 bytes written by a process outside the tree");
  if (holder >= 0) ::close(holder);
}

TEST(CheckpointFifo, RestoreRefusesAPathThatIsNoFifoNow) {
  expect_restore_refused(
      [](const std::string& fifo) {
        ASSERT_EQ(::unlink(fifo.c_str()), 0);
        int file = ::open(fifo.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        ASSERT_GE(file, 0);
        ::close(file);
      },
      "was a named FIFO of the tree and is no FIFO now");
}

// A restore on another host, or after someone removed the FIFO: restore makes it again at its path
// with the mode and owner it had (cr_fifo --remade checks them), and the tree gets its data back.
TEST(CheckpointFifo, AFifoRemovedAfterTheDumpIsMadeAgainWithItsModeAndOwner) {
  CheckpointSession session;
  std::string files = session.dir() / "files";
  ASSERT_EQ(::mkdir(files.c_str(), 0700), 0);
  pid_t init = session.start("cr_fifo", {"--dir=" + files, "--remade=1"});
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  std::string fifo = files + "/fifo";
  ASSERT_EQ(::unlink(fifo.c_str()), 0);
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
  struct stat st;
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 4321u);
}

TEST(CheckpointFifo, RestoreRefusesAFifoWhoseDirectoryIsGone) {
  expect_restore_refused(
      [](const std::string& fifo) {
        ASSERT_EQ(::unlink(fifo.c_str()), 0);
        ASSERT_EQ(::rmdir(fifo.substr(0, fifo.rfind('/')).c_str()), 0);
      },
      "is gone and cannot be made again: its directory");
}

}  // namespace
}  // namespace cryo::e2e
