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

}  // namespace
}  // namespace cryo::dump
