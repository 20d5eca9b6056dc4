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

TEST(ProcFdinfo, EventfdCountIsHex) {
  auto info = parse_proc_fdinfo("pos:\t0\nflags:\t02\neventfd-count:       1cbe991a14\neventfd-id: 1\neventfd-semaphore: 1\n");
  ASSERT_TRUE(info) << info.error().message;
  ASSERT_TRUE(info->eventfd_count);
  EXPECT_EQ(*info->eventfd_count, 123456789012u);
  EXPECT_TRUE(info->eventfd_semaphore);
}

TEST(ProcFdinfo, TimerfdState) {
  auto info = parse_proc_fdinfo(fixture("fdinfo_timerfd.txt"));
  ASSERT_TRUE(info) << info.error().message;
  ASSERT_TRUE(info->timerfd);
  EXPECT_EQ(info->timerfd->clockid, 1);
  EXPECT_EQ(info->timerfd->ticks, 7u);
  EXPECT_EQ(info->timerfd->settime_flags, 1u);
  EXPECT_EQ(info->timerfd->value_ns, 12'000'000'500u);
  EXPECT_EQ(info->timerfd->interval_ns, 1'250'000'000u);
}

TEST(ProcFdinfo, TimerfdWithABadTimespecIsAnError) {
  EXPECT_FALSE(parse_proc_fdinfo("pos:\t0\nflags:\t02\nclockid: 1\nit_value: (1, 1000000000)\n"));
  EXPECT_FALSE(parse_proc_fdinfo("pos:\t0\nflags:\t02\nclockid: 1\nit_value: 12\n"));
}

TEST(ProcFdinfo, SignalfdMaskIsHex) {
  auto info = parse_proc_fdinfo(fixture("fdinfo_signalfd.txt"));
  ASSERT_TRUE(info) << info.error().message;
  ASSERT_TRUE(info->sigmask);
  EXPECT_EQ(*info->sigmask, 0x0000001000000800u);
}

TEST(ProcFdinfo, EpollWatches) {
  auto info = parse_proc_fdinfo(fixture("fdinfo_epoll.txt"));
  ASSERT_TRUE(info) << info.error().message;
  ASSERT_EQ(info->epoll_targets.size(), 2u);
  EXPECT_EQ(info->epoll_targets[0].fd, 4);
  EXPECT_EQ(info->epoll_targets[0].events, 0x1cu);
  EXPECT_EQ(info->epoll_targets[0].data, 0x2au);
  EXPECT_EQ(info->epoll_targets[1].fd, 3);
  EXPECT_EQ(info->epoll_targets[1].events, 0x80000019u);
  EXPECT_EQ(info->epoll_targets[1].data, 0x1234567890u);
}

// As fs/notify/fdinfo.c prints them: every number in hex, the wd too (wd 1a is 26).
TEST(ProcFdinfo, InotifyWatchesAreHexWithTheirHandle) {
  auto info = parse_proc_fdinfo(
      "pos:\t0\nflags:\t02004000\nmnt_id:\t15\nino:\t1057\n"
      "inotify wd:3 ino:1a2b sdev:2d mask:fce ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:2b1a000078563412\n"
      "inotify wd:1a ino:7 sdev:800001 mask:80000100 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:0700000001000000\n");
  ASSERT_TRUE(info) << info.error().message;
  ASSERT_EQ(info->inotify_watches.size(), 2u);
  const auto& w = info->inotify_watches[0];
  EXPECT_EQ(w.wd, 3);
  EXPECT_EQ(w.ino, 0x1a2bu);
  EXPECT_EQ(w.sdev, 0x2du);
  EXPECT_EQ(w.mask, 0xfceu);
  EXPECT_EQ(w.handle_type, 1);
  EXPECT_EQ(w.handle, std::string("\x2b\x1a\x00\x00\x78\x56\x34\x12", 8));
  EXPECT_EQ(info->inotify_watches[1].wd, 26);
  EXPECT_EQ(info->inotify_watches[1].sdev, 0x800001u);
  EXPECT_EQ(info->inotify_watches[1].mask, 0x80000100u);
}

// A filesystem without export operations prints no handle: the watch is parsed, with none.
TEST(ProcFdinfo, InotifyWatchWithoutAHandle) {
  auto info = parse_proc_fdinfo("pos:\t0\nflags:\t00\ninotify wd:1 ino:5 sdev:4 mask:2 ignored_mask:0 \n");
  ASSERT_TRUE(info) << info.error().message;
  ASSERT_EQ(info->inotify_watches.size(), 1u);
  EXPECT_TRUE(info->inotify_watches[0].handle.empty());
}

TEST(ProcFdinfo, MalformedInotifyLinesAreErrors) {
  EXPECT_FALSE(parse_proc_fdinfo("pos:\t0\nflags:\t00\ninotify wd:1 ino:5 sdev:4\n"));
  EXPECT_FALSE(parse_proc_fdinfo("pos:\t0\nflags:\t00\ninotify wd:0 ino:5 sdev:4 mask:2\n"));
  EXPECT_FALSE(parse_proc_fdinfo("pos:\t0\nflags:\t00\ninotify wd:1 ino:5 sdev:4 mask:2 fhandle-bytes:8 fhandle-type:1 f_handle:0011\n"));
  EXPECT_FALSE(parse_proc_fdinfo("pos:\t0\nflags:\t00\ninotify wd:1 ino:5 sdev:4 mask:2 fhandle-bytes:1 fhandle-type:1 f_handle:0\n"));
}

// fanotify's group line and its three kinds of mark lines, as fs/notify/fdinfo.c prints them (hex).
TEST(ProcFdinfo, FanotifyGroupAndMarks) {
  auto info = parse_proc_fdinfo(
      "pos:\t0\nflags:\t02000002\nmnt_id:\t16\nino:\t1057\n"
      "fanotify flags:11 event-flags:8000\n"
      "fanotify ino:a760de sdev:fe00000 mflags:0 mask:20 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:de60a700cf71a99d\n"
      "fanotify mnt_id:1c mflags:200 mask:2 ignored_mask:0\n"
      "fanotify sdev:2d mflags:0 mask:a ignored_mask:8\n");
  ASSERT_TRUE(info) << info.error().message;
  ASSERT_TRUE(info->fanotify);
  EXPECT_EQ(info->fanotify->flags, 0x11u);
  EXPECT_EQ(info->fanotify->event_flags, 0x8000u);
  ASSERT_EQ(info->fanotify_marks.size(), 3u);
  const auto& inode = info->fanotify_marks[0];
  EXPECT_EQ(inode.object, FanotifyMarkInfo::Object::Inode);
  EXPECT_EQ(inode.ino, 0xa760deu);
  EXPECT_EQ(inode.sdev, 0xfe00000u);
  EXPECT_EQ(inode.mask, 0x20u);
  EXPECT_EQ(inode.handle_type, 1);
  EXPECT_EQ(inode.handle, std::string("\xde\x60\xa7\x00\xcf\x71\xa9\x9d", 8));
  EXPECT_EQ(info->fanotify_marks[1].object, FanotifyMarkInfo::Object::Mount);
  EXPECT_EQ(info->fanotify_marks[1].mnt_id, 0x1c);
  EXPECT_EQ(info->fanotify_marks[1].mflags, 0x200u);
  EXPECT_EQ(info->fanotify_marks[2].object, FanotifyMarkInfo::Object::Filesystem);
  EXPECT_EQ(info->fanotify_marks[2].sdev, 0x2du);
  EXPECT_EQ(info->fanotify_marks[2].ignored_mask, 8u);
}

TEST(ProcFdinfo, MalformedFanotifyLinesAreErrors) {
  EXPECT_FALSE(parse_proc_fdinfo("pos:\t0\nflags:\t00\nfanotify flags:10\n"));
  EXPECT_FALSE(parse_proc_fdinfo("pos:\t0\nflags:\t00\nfanotify ino:5 sdev:4 mflags:0 mask:2\n"));
  EXPECT_FALSE(parse_proc_fdinfo("pos:\t0\nflags:\t00\nfanotify ino:5 mflags:0 mask:2 ignored_mask:0\n"));
  EXPECT_FALSE(parse_proc_fdinfo("pos:\t0\nflags:\t00\nfanotify mnt_id:5 sdev:4 mflags:0 mask:2 ignored_mask:0\n"));
  EXPECT_FALSE(parse_proc_fdinfo("pos:\t0\nflags:\t00\nfanotify ino:5 sdev:4 mflags:0 mask:2 ignored_mask:0 fhandle-bytes:8 "
                                 "fhandle-type:1 f_handle:0011\n"));
  EXPECT_FALSE(parse_proc_fdinfo("pos:\t0\nflags:\t00\nfanotify ino:zz sdev:4 mflags:0 mask:2 ignored_mask:0\n"));
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
