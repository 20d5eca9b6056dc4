#include "kernel/file_locks.h"

#include <gtest/gtest.h>

#include "kernel/proc_fdinfo.h"

namespace cryo {
namespace {

// Lines as fdinfo showed them on this kernel (python's lockf, flock and F_OFD_SETLK).
TEST(FileLocks, ParsesPosixFlockAndOfdLines) {
  auto posix = parse_file_lock("1: POSIX  ADVISORY  WRITE 14532 fe:00:10952964 5 14");
  ASSERT_TRUE(posix) << posix.error().message;
  EXPECT_EQ(posix->kind, FileLockKind::Posix);
  EXPECT_TRUE(posix->write);
  EXPECT_EQ(posix->pid, 14532);
  EXPECT_EQ(posix->start, 5u);
  EXPECT_EQ(posix->end, 14u);
  auto flock = parse_file_lock("1: FLOCK  ADVISORY  READ 14532 fe:00:10952983 0 EOF");
  ASSERT_TRUE(flock);
  EXPECT_EQ(flock->kind, FileLockKind::Flock);
  EXPECT_FALSE(flock->write);
  EXPECT_FALSE(flock->end);
  auto ofd = parse_file_lock("1: OFDLCK ADVISORY  READ -1 fe:00:10953004 0 EOF");
  ASSERT_TRUE(ofd);
  EXPECT_EQ(ofd->kind, FileLockKind::Ofd);
  EXPECT_EQ(ofd->pid, -1);
}

TEST(FileLocks, RefusesLeasesAndMalformedLines) {
  auto lease = parse_file_lock("1: LEASE  ACTIVE    READ 14532 fe:00:10952983 0 EOF");
  ASSERT_FALSE(lease);
  EXPECT_NE(lease.error().message.find("a file lease"), std::string::npos) << lease.error().message;
  EXPECT_FALSE(parse_file_lock("1: POSIX  ADVISORY  WRITE 1 fe:00:1 9 3"));   // ends before it starts
  EXPECT_FALSE(parse_file_lock("1: POSIX  ADVISORY  WRITE x fe:00:1 0 EOF"));
  EXPECT_FALSE(parse_file_lock("1: POSIX  ADVISORY  WRITE 1"));
}

TEST(FileLocks, FdinfoKeepsEachLockLine) {
  auto info = parse_proc_fdinfo(
      "pos:\t0\nflags:\t02100002\nmnt_id:\t27\nino:\t10952964\n"
      "lock:\t1: POSIX  ADVISORY  WRITE 14532 fe:00:10952964 5 14\n"
      "lock:\t2: POSIX  ADVISORY  READ 14532 fe:00:10952964 100 EOF\n");
  ASSERT_TRUE(info) << info.error().message;
  ASSERT_EQ(info->locks.size(), 2u);
  EXPECT_EQ(info->locks[1], "2: POSIX  ADVISORY  READ 14532 fe:00:10952964 100 EOF");
}

}  // namespace
}  // namespace cryo
