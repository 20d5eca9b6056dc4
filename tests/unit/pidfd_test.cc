// pidfds (state/files/pidfd.h): fdinfo's Pid is parsed (-1 for a reaped process), install opens a
// pidfd that names the same process with PIDFD_THREAD kept, collect refuses what names no process,
// and validation takes only pidfds of the holder, its ancestors and its descendants, each held by
// one process.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "kernel/proc_fdinfo.h"
#include "state/files/pidfd.h"

namespace cryo::state {
namespace {

TEST(PidfdKind, FdinfoPidIsParsedAndMinusOneIsAReapedProcess) {
  auto live = parse_proc_fdinfo("pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t4086214\nPid:\t9205\nNSpid:\t9205\t2\n");
  ASSERT_TRUE(live) << live.error().message;
  EXPECT_EQ(live->pidfd_pid, 9205);
  auto reaped = parse_proc_fdinfo("pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t4086214\nPid:\t-1\nNSpid:\t-1\n");
  ASSERT_TRUE(reaped) << reaped.error().message;
  EXPECT_EQ(reaped->pidfd_pid, -1);
  EXPECT_FALSE(parse_proc_fdinfo("pos:\t0\nflags:\t02\nPid:\tx\n"));
}

TEST(PidfdKind, InstallOpensAPidfdOfTheSamePidWithPidfdThread) {
  image::Fd want;
  want.set_kind(image::FD_PIDFD);
  want.set_flags(O_RDWR | O_EXCL);
  want.mutable_pidfd()->set_pid(static_cast<uint32_t>(::getpid()));
  auto made = install_pidfd(want, FdInstall{});
  ASSERT_TRUE(made) << made.error().message;
  UniqueFd pidfd(*made);
  auto info = read_proc_fdinfo(::getpid(), pidfd.get());
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->pidfd_pid, ::getpid());
  EXPECT_TRUE(info->flags & O_EXCL) << "PIDFD_THREAD was not given to pidfd_open";
  image::Fd got;
  ASSERT_TRUE(collect_pidfd(FdCollect{::getpid(), pidfd.get(), *info}, got));
  EXPECT_EQ(got.pidfd().pid(), static_cast<uint32_t>(::getpid()));
}

TEST(PidfdKind, CollectRefusesAPidfdOfAReapedProcess) {
  FdInfo info;
  info.pidfd_pid = -1;
  image::Fd out;
  auto collected = collect_pidfd(FdCollect{::getpid(), 3, info}, out);
  ASSERT_FALSE(collected);
  EXPECT_NE(collected.error().message.find("exited and was reaped"), std::string::npos) << collected.error().message;
}

// Processes 1 (init), 2 and 3 (its children) and 4 (a child of 2).
ImageSet family() {
  ImageSet set;
  for (auto [pid, ppid] : std::vector<std::pair<uint32_t, uint32_t>>{{1, 0}, {2, 1}, {3, 1}, {4, 2}}) {
    ProcessImage process;
    process.entry.set_pid(pid);
    process.entry.set_ppid(ppid);
    set.processes.push_back(process);
  }
  return set;
}

void hold_pidfd(ImageSet& set, size_t index, uint32_t target, uint64_t open_file_id = 0) {
  image::Fd* fd = set.processes[index].files.add_fds();
  fd->set_fd(10 + set.processes[index].files.fds_size());
  fd->set_kind(image::FD_PIDFD);
  fd->set_open_file_id(open_file_id);
  fd->mutable_pidfd()->set_pid(target);
}

TEST(PidfdKind, ValidationTakesTheHolderItsAncestorsAndItsDescendantsOnly) {
  ImageSet set = family();
  hold_pidfd(set, 3, 1);  // 4 -> its grandparent
  hold_pidfd(set, 0, 4);  // 1 -> its grandchild
  hold_pidfd(set, 1, 2);  // 2 -> itself
  std::vector<std::string> problems;
  validate_pidfd_targets(set, &problems);
  EXPECT_TRUE(problems.empty()) << problems[0];
  hold_pidfd(set, 2, 2);  // 3 -> its sibling
  hold_pidfd(set, 1, 9);  // 2 -> no such process
  validate_pidfd_targets(set, &problems);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0], "pid 2: fd 12: pidfd of pid 9, which is not in the image");
  EXPECT_EQ(problems[1], "pid 3: fd 11: pidfd of pid 2, neither the holder nor an ancestor or descendant of it");
}

TEST(PidfdKind, ValidationRefusesAPidfdSharedByTwoProcesses) {
  ImageSet set = family();
  hold_pidfd(set, 0, 2, 7);
  hold_pidfd(set, 0, 2, 7);  // A dup in the same process is fine.
  std::vector<std::string> problems;
  validate_pidfd_targets(set, &problems);
  EXPECT_TRUE(problems.empty()) << problems[0];
  hold_pidfd(set, 1, 2, 7);
  validate_pidfd_targets(set, &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "pid 2: fd 11: pidfd shares its open file with pid 1, which restore cannot make");
}

}  // namespace
}  // namespace cryo::state
