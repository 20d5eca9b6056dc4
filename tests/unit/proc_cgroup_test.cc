#include "kernel/proc_cgroup.h"

#include <gtest/gtest.h>

#include "restore/cgroups.h"

namespace cryo {
namespace {

// As this project's hybrid hosts print it: v1 controllers, a named hierarchy and the v2 one.
TEST(ProcCgroup, ParsesV1V2AndNamedHierarchies) {
  auto c = parse_proc_cgroup("9:name=systemd:/\n4:memory:/process_api/1dc0\n2:cpu,cpuacct:/a:b\n0::/cryo/x\n");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->size(), 4u);
  EXPECT_EQ((*c)[0].controllers, "name=systemd");
  EXPECT_EQ((*c)[1].path, "/process_api/1dc0");
  EXPECT_EQ((*c)[2].controllers, "cpu,cpuacct");
  EXPECT_EQ((*c)[2].path, "/a:b");
  EXPECT_EQ((*c)[3].controllers, "");
  EXPECT_FALSE(parse_proc_cgroup("garbage\n"));
}

TEST(ProcCgroup, FindsEachHierarchysMountPoint) {
  std::vector<MountEntry> mounts = {
      {"/", "/sys/fs/cgroup/cpu,cpuacct", "rw", "cgroup", "cgroup", "rw,cpu,cpuacct"},
      {"/", "/sys/fs/cgroup/unified", "rw", "cgroup2", "cgroup2", "rw"},
      {"/sub", "/elsewhere", "rw", "cgroup", "cgroup", "rw,pids"},
      {"/", "/sys/fs/cgroup/systemd", "rw", "cgroup", "cgroup", "rw,xattr,name=systemd"},
  };
  EXPECT_EQ(cgroup_mount_point(mounts, ""), "/sys/fs/cgroup/unified");
  EXPECT_EQ(cgroup_mount_point(mounts, "cpu,cpuacct"), "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(cgroup_mount_point(mounts, "cpu"), "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(cgroup_mount_point(mounts, "name=systemd"), "/sys/fs/cgroup/systemd");
  EXPECT_EQ(cgroup_mount_point(mounts, "pids"), "") << "a bind of a subtree is not the hierarchy's root";
  EXPECT_EQ(cgroup_mount_point(mounts, "memory"), "");
}

TEST(ProcCgroup, ImagePathsThatCouldLeaveTheHierarchyAreProblems) {
  for (const char* bad : {"", "relative", "/a/../../etc", "/a/./b", "/a//b", "/a/"}) {
    image::ProcessCore core;
    auto* c = core.add_cgroups();
    c->set_path(bad);
    std::vector<std::string> problems;
    restore::validate_cgroups(core, &problems);
    EXPECT_EQ(problems.size(), 1u) << "'" << bad << "'";
  }
  image::ProcessCore core;
  core.add_cgroups()->set_path("/");
  auto* named = core.add_cgroups();
  named->set_controllers("name=systemd");
  named->set_path("/user.slice/a b");
  std::vector<std::string> problems;
  restore::validate_cgroups(core, &problems);
  EXPECT_TRUE(problems.empty()) << problems.front();
}

}  // namespace
}  // namespace cryo
