// Named FIFOs at restore (restore/fifos.h): the pre-flight finds a FIFO at the path holding no one
// else's data (or a FIFO gone from a directory that is still there), and the holder makes a gone
// FIFO again, then refills the buffer once, non-blocking, through an O_RDWR open.
#include "restore/fifos.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace cryo::restore {
namespace {

class FifosTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/cryo-fifos-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    root_ = templ;
    path_ = root_ + "/fifo";
    ASSERT_EQ(::mkfifo(path_.c_str(), 0600), 0);
    struct stat st;
    ASSERT_EQ(::stat(path_.c_str(), &st), 0);
    fifo_.set_pipe_id(st.st_ino);
    fifo_.set_fifo_path(path_);
    fifo_.set_fifo_dev(st.st_dev);
    fifo_.set_fifo_ino(st.st_ino);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::vector<std::string> problems(bool same_boot = true) {
    std::vector<std::string> found;
    notes_.clear();
    check_fifo(fifo_, same_boot, &found, &notes_);
    return found;
  }

  std::string root_, path_;
  image::PipeEntry fifo_;
  std::vector<std::string> notes_;
};

TEST_F(FifosTest, AnEmptyFifoAtItsPathPasses) {
  EXPECT_TRUE(problems().empty());
  EXPECT_TRUE(notes_.empty());
}

TEST_F(FifosTest, AFifoWithSomeoneElsesDataIsAProblemNamingThePath) {
  int outsider = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(outsider, 0);
  ASSERT_EQ(::write(outsider, "abc", 3), 3);
  auto found = problems();
  ::close(outsider);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_NE(found[0].find(path_), std::string::npos) << found[0];
  EXPECT_NE(found[0].find("already holds 3 bytes"), std::string::npos) << found[0];
}

TEST_F(FifosTest, APathThatIsNoFifoOrMissingIsAProblem) {
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  auto missing = problems();
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_NE(missing[0].find("mkfifo " + path_), std::string::npos) << missing[0];
  int file = ::open(path_.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  ASSERT_GE(file, 0);
  ::close(file);
  auto regular = problems();
  ASSERT_EQ(regular.size(), 1u);
  EXPECT_NE(regular[0].find("is no FIFO now"), std::string::npos) << regular[0];
}

TEST_F(FifosTest, AnotherFifoAtThePathIsANoteOnTheSameBootOnly) {
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  ASSERT_EQ(::mkfifo((root_ + "/other").c_str(), 0600), 0);  // Keeps the old inode number from coming back.
  ASSERT_EQ(::mkfifo(path_.c_str(), 0600), 0);
  EXPECT_TRUE(problems(true).empty());
  EXPECT_EQ(notes_.size(), 1u);
  EXPECT_TRUE(problems(false).empty());
  EXPECT_TRUE(notes_.empty());
}

TEST_F(FifosTest, TheHolderRefillsTheBufferOnceAndRefusesData) {
  fifo_.set_data("buffered");
  fifo_.set_capacity(128 * 1024);
  auto holder = open_fifo_holder(fifo_);
  ASSERT_TRUE(holder) << holder.error().message;
  int bytes = 0;
  ASSERT_EQ(::ioctl(holder->get(), FIONREAD, &bytes), 0);
  EXPECT_EQ(bytes, 8);
  EXPECT_EQ(::fcntl(holder->get(), F_GETPIPE_SZ), 128 * 1024);
  EXPECT_EQ(::fcntl(holder->get(), F_GETFL) & O_ACCMODE, O_RDWR);
  // A second holder finds the first one's bytes: someone else's data, refused.
  auto second = open_fifo_holder(fifo_);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("already holds 8 bytes"), std::string::npos) << second.error().message;
}

// An image that recorded the FIFO's mode and owner: a path that has gone is made again.
TEST_F(FifosTest, AGoneFifoIsANoteAndTheHolderMakesItAgainWithItsModeAndOwner) {
  fifo_.set_fifo_mode(S_IFIFO | 02640);
  fifo_.set_fifo_uid(1234);
  fifo_.set_fifo_gid(4321);
  fifo_.set_data("buffered");
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  EXPECT_TRUE(problems().empty());
  ASSERT_EQ(notes_.size(), 1u);
  EXPECT_NE(notes_[0].find("restore makes it again (mode 2640, owner 1234:4321)"), std::string::npos) << notes_[0];
  auto holder = open_fifo_holder(fifo_);
  ASSERT_TRUE(holder) << holder.error().message;
  struct stat st;
  ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 02640u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 4321u);
  int bytes = 0;
  ASSERT_EQ(::ioctl(holder->get(), FIONREAD, &bytes), 0);
  EXPECT_EQ(bytes, 8);
}

TEST_F(FifosTest, AGoneFifoWhoseDirectoryIsGoneIsAProblem) {
  fifo_.set_fifo_mode(S_IFIFO | 0600);
  fifo_.set_fifo_path(root_ + "/gone/fifo");
  auto found = problems();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_NE(found[0].find("cannot be made again: its directory " + root_ + "/gone is missing"), std::string::npos) << found[0];
  EXPECT_FALSE(open_fifo_holder(fifo_));
}

}  // namespace
}  // namespace cryo::restore
