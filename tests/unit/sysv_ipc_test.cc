#include "dump/sysv_ipc.h"

#include <gtest/gtest.h>

namespace cryo::dump {
namespace {

// As /proc/sysvipc/sem prints it on this kernel: a header, then one set per line.
TEST(SysvIpc, ParsesKeyAndIdOfEachObject) {
  auto objects = parse_sysvipc(
      "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n"
      "     24122          0   600          2     0     0     0     0          0 1764620000\n"
      "         0          1   600          1     0     0     0     0          0 1764620001\n",
      "SysV semaphore set");
  ASSERT_TRUE(objects) << objects.error().message;
  ASSERT_EQ(objects->size(), 2u);
  EXPECT_EQ((*objects)[0].key, 24122);
  EXPECT_EQ((*objects)[0].id, 0);
  EXPECT_EQ((*objects)[1].key, 0);
  EXPECT_EQ((*objects)[1].id, 1);
}

TEST(SysvIpc, AnEmptyNamespaceHasOnlyTheHeader) {
  auto objects = parse_sysvipc("       key      msqid perms      cbytes       qnum lspid lrpid\n", "SysV message queue");
  ASSERT_TRUE(objects);
  EXPECT_TRUE(objects->empty());
}

TEST(SysvIpc, RefusesAMalformedLine) {
  EXPECT_FALSE(parse_sysvipc("header\n  12x   3 600\n", "SysV message queue"));
  EXPECT_FALSE(parse_sysvipc("header\n  12\n", "SysV message queue"));
}

// As /proc/sysvipc/shm prints it: perms in octal, with SHM_DEST (01000) on a removed segment.
constexpr const char* kShmHeader =
    "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n";

TEST(SysvIpc, ParsesSharedMemorySegments) {
  std::string text = std::string(kShmHeader) +
                     "     23131          5   604                  8192     1     1      0  1234  5678  4321    77 1764620000 1764620000 1764620000                  8192                     0\n"
                     "     23130          3   640                 12388     1     2      3     0     0     0     0 1764620000          0 1764620000                 16384                     0\n"
                     "         0          7  1600                  4096     1     2      2     0     0     0     0 1764620000          0 1764620000                  4096                     0\n";
  auto ipc = parse_sysvipc_shm(text);
  ASSERT_TRUE(ipc) << ipc.error().message;
  ASSERT_EQ(ipc->segments_size(), 3);
  const auto& a = ipc->segments(0);  // Sorted by id.
  EXPECT_EQ(a.id(), 3);
  EXPECT_EQ(a.key(), 23130);
  EXPECT_EQ(a.mode(), 0640u);
  EXPECT_EQ(a.size(), 12388u);
  EXPECT_FALSE(a.removed());
  const auto& b = ipc->segments(1);
  EXPECT_EQ(b.uid(), 1234u);
  EXPECT_EQ(b.gid(), 5678u);
  EXPECT_EQ(b.cuid(), 4321u);
  EXPECT_EQ(b.cgid(), 77u);
  EXPECT_EQ(b.mode(), 0604u);
  const auto& c = ipc->segments(2);
  EXPECT_TRUE(c.removed());
  EXPECT_FALSE(c.locked());
  EXPECT_EQ(c.mode(), 0600u);
}

TEST(SysvIpc, RefusesUnknownModeBitsAndShortLines) {
  EXPECT_FALSE(parse_sysvipc_shm(std::string(kShmHeader) + "0 1 4600 4096 1 1 0 0 0 0 0 0 0 0 0 0\n"));
  EXPECT_FALSE(parse_sysvipc_shm(std::string(kShmHeader) + "0 1 600 4096 1 1\n"));
  auto locked = parse_sysvipc_shm(std::string(kShmHeader) + "0 1 2600 4096 1 1 0 0 0 0 0 0 0 0 0 0\n");
  ASSERT_TRUE(locked);
  EXPECT_TRUE(locked->segments(0).locked());
}

// Restore attaches whole segments: a piece of one is refused at dump, and so is a removed segment
// no process of the tree maps.
TEST(SysvIpc, ChecksMappingsAgainstTheirSegments) {
  image::SysvIpc ipc;
  auto* live = ipc.add_segments();
  live->set_id(3);
  live->set_key(0x5a5a);
  live->set_size(12388);
  auto* removed = ipc.add_segments();
  removed->set_id(7);
  removed->set_removed(true);
  removed->set_size(4096);
  SysvMapping whole{1, 0x10000, 0x14000, 0, 3, "/SYSV00005a5a (deleted)"};
  SysvMapping gone{1, 0x20000, 0x21000, 0, 7, "/SYSV00001234 (deleted)"};
  ASSERT_TRUE(check_sysv_mappings(ipc, {whole, gone}));
  EXPECT_EQ(ipc.segments(1).creation_key(), 0x1234);
  SysvMapping piece = whole;
  piece.end = 0x11000;
  auto refused = check_sysv_mappings(ipc, {piece, gone});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("is part of System V shared memory segment 3"), std::string::npos);
  EXPECT_FALSE(check_sysv_mappings(ipc, {whole}));  // Removed, and mapped by nobody in the tree.
  SysvMapping stranger = whole;
  stranger.shmid = 9;
  EXPECT_FALSE(check_sysv_mappings(ipc, {stranger, gone}));
}

}  // namespace
}  // namespace cryo::dump
