// Pipes and named FIFOs (state/files/pipe.h): the stage step makes an anonymous pipe again above the
// image's fds with its bytes, and every fd of it gets its open file; pipes.img's validation refuses what
// no dump writes. Named FIFOs at restore: the pre-flight finds a FIFO at the path holding no one
// else's data (or a FIFO gone from a directory that is still there), and the holder makes a gone
// FIFO again, then refills the buffer once, non-blocking, through an O_RDWR open.
#include "state/files/pipe.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace cryo::state {
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

// One process holding both ends of a pipe with bytes buffered, as the dump records it.
ImageSet one_pipe(const std::string& data) {
  ImageSet set;
  image::PipeEntry* pipe = set.pipes.add_pipes();
  pipe->set_pipe_id(77);
  pipe->set_data(data);
  ProcessImage& process = set.processes.emplace_back();
  process.entry.set_pid(1);
  for (int end : {0, 1}) {
    image::Fd* fd = process.files.add_fds();
    fd->set_fd(3 + end);
    fd->set_kind(image::FD_PIPE);
    fd->set_pipe_id(77);
    fd->set_flags(end == 0 ? O_RDONLY : O_WRONLY);
    fd->set_pipe_write_end(end == 1);
    fd->set_open_file_id(10 + end);
  }
  return set;
}

TEST(PipeKind, TheStageStepMakesThePipeAboveMinFdWithItsBytes) {
  ImageSet set = one_pipe("buffered");
  const FdKindOps* ops = find_fd_kind(image::FD_PIPE);
  ASSERT_TRUE(ops && ops->stage);
  StagedFds staged;
  auto r = ops->stage(set, 200, staged);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(staged.pipe_files.size(), 2u);
  int reader = staged.pipe_files.at({1, 3}), writer = staged.pipe_files.at({1, 4});
  EXPECT_GE(reader, 200);
  EXPECT_GE(writer, 200);
  EXPECT_EQ(::fcntl(reader, F_GETFL) & O_ACCMODE, O_RDONLY);
  EXPECT_EQ(::fcntl(writer, F_GETFL) & O_ACCMODE, O_WRONLY);
  char got[16] = {};
  EXPECT_EQ(::read(reader, got, sizeof got), 8);
  EXPECT_STREQ(got, "buffered");
  for (const auto& [id, pipe] : staged.pipes) {
    ::close(pipe.read_fd);
    ::close(pipe.write_fd);
  }
}

TEST(PipeKind, ValidationRefusesWhatNoDumpWrites) {
  ImageSet set = one_pipe("");
  image::PipeEntry& pipe = *set.pipes.mutable_pipes(0);
  pipe.set_capacity(4);
  pipe.set_data("too many");
  pipe.set_fifo_ino(77);
  std::vector<std::string> problems;
  validate_pipes(set.pipes, &problems);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("do not fit its capacity of 4"), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find("a FIFO identity without a FIFO path"), std::string::npos) << problems[1];
  problems.clear();
  std::map<uint64_t, const image::PipeEntry*> none;
  validate_pipe_fd(set.processes[0].files.fds(0), none, "fd 3", &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "fd 3: pipe 77 is not in pipes.img");
}

}  // namespace
}  // namespace cryo::state
