#include "kernel/proc_fdinfo.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "base/file_util.h"

namespace cryo {
namespace {

std::string fixture(const std::string& name) {
  auto text = read_file(std::string(CRYO_TEST_FIXTURES) + "/proc/" + name);
  EXPECT_TRUE(text) << name;
  return text ? *text : "";
}

TEST(ProcFdinfo, FlagsAreOctalAndKindLinesAreSkipped) {
  auto info = parse_proc_fdinfo(fixture("fdinfo_eventfd.txt"));
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->pos, 0u);
  EXPECT_EQ(info->flags, static_cast<uint32_t>(O_CLOEXEC | O_NONBLOCK | O_RDWR));
  EXPECT_EQ(info->mnt_id, 15);
  EXPECT_EQ(info->ino, 1057u);
}

TEST(ProcFdinfo, PipeWriteEnd) {
  auto info = parse_proc_fdinfo(fixture("fdinfo_pipe_write.txt"));
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->flags & O_ACCMODE, static_cast<uint32_t>(O_WRONLY));
  EXPECT_EQ(info->ino, 21814u);
}

TEST(ProcFdinfo, WithoutFlagsIsAnError) { EXPECT_FALSE(parse_proc_fdinfo("pos:\t5\n")); }

TEST(ProcFdinfo, LiveFileShowsPositionAndAppend) {
  char path[] = "/tmp/cryo-fdinfo-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  ASSERT_EQ(::write(fd, "hello world", 11), 11);
  ASSERT_EQ(::lseek(fd, 6, SEEK_SET), 6);
  ASSERT_EQ(::fcntl(fd, F_SETFL, O_APPEND), 0);
  auto info = read_proc_fdinfo(::getpid(), fd);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->pos, 6u);
  EXPECT_TRUE(info->flags & O_APPEND);
  EXPECT_EQ(info->flags & O_ACCMODE, static_cast<uint32_t>(O_RDWR));
  ::close(fd);
}

}  // namespace
}  // namespace cryo
