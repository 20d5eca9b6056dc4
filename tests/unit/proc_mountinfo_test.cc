#include "kernel/proc_mountinfo.h"

#include <gtest/gtest.h>

#include "base/file_util.h"
#include "dump/tree_mounts.h"

namespace cryo {
namespace {

std::vector<MountEntry> fixture(const std::string& name) {
  auto text = read_file(std::string(CRYO_TEST_FIXTURES) + "/proc/" + name);
  EXPECT_TRUE(text) << name;
  auto mounts = parse_mountinfo(text ? *text : "");
  EXPECT_TRUE(mounts) << mounts.error().message;
  return mounts ? *mounts : std::vector<MountEntry>{};
}

TEST(ProcMountinfo, ParsesOptionalFieldsAndEscapedPaths) {
  auto mounts = parse_mountinfo(
      "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue\n"
      "65 43 0:41 / /tmp/mnt\\040dir rw,relatime - tmpfs scratch rw,size=1024k\n");
  ASSERT_TRUE(mounts) << mounts.error().message;
  ASSERT_EQ(mounts->size(), 2u);
  EXPECT_EQ((*mounts)[0].root, "/mnt1");
  EXPECT_EQ((*mounts)[0].mount_point, "/mnt/parent");
  EXPECT_EQ((*mounts)[0].mount_options, "rw,noatime");
  EXPECT_EQ((*mounts)[0].fs_type, "ext3");
  EXPECT_EQ((*mounts)[0].source, "/dev/root");
  EXPECT_EQ((*mounts)[0].super_options, "rw,errors=continue");
  EXPECT_EQ((*mounts)[1].mount_point, "/tmp/mnt dir");
}

TEST(ProcMountinfo, MountsOfADeviceByItsNumber) {
  std::string text =
      "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
      "23 22 0:45 / /tmp rw - tmpfs tmpfs rw\n"
      "24 22 8:1 /srv/data /mnt/my\\040data rw - ext4 /dev/sda1 rw\n"
      "25 22 8:10 / /boot rw - ext4 /dev/sda10 rw\n";
  auto mounts = mounts_of_device(text, 8, 1);
  ASSERT_TRUE(mounts) << mounts.error().message;
  ASSERT_EQ(mounts->size(), 2u);
  EXPECT_EQ((*mounts)[0].root, "/");
  EXPECT_EQ((*mounts)[0].mount_point, "/");
  EXPECT_EQ((*mounts)[1].root, "/srv/data");
  EXPECT_EQ((*mounts)[1].mount_point, "/mnt/my data");
  auto none = mounts_of_device(text, 0, 46);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(ProcMountinfo, RefusesALineWithoutItsSeparator) {
  EXPECT_FALSE(parse_mountinfo("36 35 98:0 / /mnt rw ext3 /dev/root rw\n"));
  EXPECT_FALSE(parse_mountinfo("36 35 98:0 / /mnt rw - ext3 /dev/root\n"));
}

// Captured on this kernel: cryo's own mounts, and those of a `cryo run` tree that mounted a tmpfs
// on "/tmp/mnt dir". The kernel lists the two in different orders, with stacked duplicates.
TEST(TreeMounts, FindsOnlyTheMountTheTreeMadeBesidesItsProc) {
  auto d = dump::compare_mounts(fixture("mountinfo_tree_tmpfs.txt"), fixture("mountinfo_cryo.txt"));
  ASSERT_EQ(d.only_in_tree.size(), 1u);
  EXPECT_EQ(d.only_in_tree[0].mount_point, "/tmp/mnt dir");
  EXPECT_EQ(d.only_in_tree[0].describe(), "tmpfs on /tmp/mnt dir [rw,relatime]");
  EXPECT_TRUE(d.only_in_cryo.empty());
}

TEST(TreeMounts, ARemountReadOnlyIsADifference) {
  auto cryo = fixture("mountinfo_cryo.txt");
  auto tree = cryo;
  ASSERT_FALSE(tree.empty());
  tree.back().mount_options = "ro," + tree.back().mount_options;
  auto d = dump::compare_mounts(tree, cryo);
  ASSERT_EQ(d.only_in_tree.size(), 1u);
  EXPECT_EQ(d.only_in_cryo.size(), 1u);
}

TEST(TreeMounts, AnUnchangedTreeHasNoDifference) {
  auto d = dump::compare_mounts(fixture("mountinfo_cryo.txt"), fixture("mountinfo_cryo.txt"));
  EXPECT_TRUE(d.only_in_tree.empty());
  EXPECT_TRUE(d.only_in_cryo.empty());
}

}  // namespace
}  // namespace cryo
