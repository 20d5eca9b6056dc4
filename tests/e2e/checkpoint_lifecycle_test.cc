// What can be done with trees and images: dump without stopping the tree, restore one image more
// than once, dump a restored tree again.
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "e2e/checkpoint_harness.h"
#include "ns/namespace_file.h"

namespace cryo::e2e {
namespace {

// "t" is a ptrace stop, "T" a job-control stop: a tree dump leaves running must be in neither,
// and no longer traced.
void expect_running_untraced(pid_t pid) {
  std::string status = slurp("/proc/" + std::to_string(pid) + "/status");
  EXPECT_NE(status.find("TracerPid:\t0\n"), std::string::npos) << "pid " << pid << " is still traced:\n" << status;
  EXPECT_EQ(status.find("State:\tt"), std::string::npos) << "pid " << pid << " is left in a ptrace stop";
  EXPECT_EQ(status.find("State:\tT"), std::string::npos) << "pid " << pid << " is left stopped";
}

TEST(CheckpointLifecycle, LeaveRunningLeavesTheWorkloadUnharmed) {
  CheckpointSession session;
  pid_t init = session.start("cr_memory");
  ASSERT_GT(init, 0);
  std::vector<pid_t> children = children_of(init);
  ASSERT_EQ(children.size(), 1u);
  ASSERT_TRUE(session.dump_ok(init, session.image_path(), {"--leave-running"}));
  expect_running_untraced(init);
  expect_running_untraced(children[0]);
  // Its own check covers registers, memory, PIDs and clocks (the freeze counts as a jump: < 2 s).
  session.expect_pass_after_check(init);
}

// A tree another tool made: `unshare --kill-child` gives its init the parent-death signal SIGKILL
// and leaves it in the caller's process group and session (the kernel's own, PID 0, under a CI
// runner that PID 1 started). The restore, with --detach, gives back everything but that signal.
TEST(CheckpointLifecycle, ATreeStartedByUnshareComesBack) {
  CheckpointSession session;
  std::string log = session.log_path();
  std::string tag = "--tag=" + session.dir().path();
  std::string memory = workload("cr_memory");
  pid_t unshare = ::fork();
  ASSERT_GE(unshare, 0);
  if (unshare == 0) {
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (out < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) ::_exit(127);
    ::execl("/usr/bin/unshare", "unshare", "--pid", "--fork", "--mount-proc", "--time", "--ipc", "--uts", "--kill-child",
            memory.c_str(), tag.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  OwnedPid unshare_owned(unshare);
  ASSERT_TRUE(wait_for_text(log, "READY")) << slurp(log);
  auto children = children_of(unshare);
  ASSERT_EQ(children.size(), 1u);
  pid_t init = children[0];
  session.own(init);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  ASSERT_EQ(::waitpid(unshare, nullptr, 0), unshare);
  unshare_owned.forget();
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

std::string ipc_namespace_of(const std::string& pid) {
  char target[128] = {};
  ssize_t n = ::readlink(("/proc/" + pid + "/ns/ipc").c_str(), target, sizeof target - 1);
  return n > 0 ? std::string(target, static_cast<size_t>(n)) : "";
}

// The tree's SysV objects and message queues are its own (a dump then refuses those it cannot
// dump instead of missing the host's), and a restore gives it a new, empty one again.
TEST(CheckpointLifecycle, RunAndRestoreGiveTheTreeItsOwnIpcNamespace) {
  CheckpointSession session;
  pid_t init = session.start("cr_memory");
  ASSERT_GT(init, 0);
  std::string host = ipc_namespace_of("self");
  ASSERT_FALSE(host.empty());
  EXPECT_NE(ipc_namespace_of(std::to_string(init)), host);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  std::string restored_ns = ipc_namespace_of(std::to_string(restored));
  EXPECT_FALSE(restored_ns.empty());
  EXPECT_NE(restored_ns, host);
  session.expect_pass_after_check(restored);
}

// The hostname of a tree with its own UTS namespace, as the tree sees it.
std::string hostname_seen_by(pid_t pid) {
  auto name = read_file_in_namespace_of(pid, "uts", CLONE_NEWUTS, "/proc/sys/kernel/hostname");
  EXPECT_TRUE(name) << name.error().message;
  return name ? *name : "";
}

TEST(CheckpointLifecycle, HostnameComesBack) {
  CheckpointSession session;
  pid_t init = session.start("cr_memory", {}, {"--hostname", "frozen-box"});
  ASSERT_GT(init, 0);
  ASSERT_EQ(hostname_seen_by(init), "frozen-box\n");
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  EXPECT_EQ(hostname_seen_by(restored), "frozen-box\n");
  session.expect_pass_after_check(restored);
}

TEST(CheckpointLifecycle, OneImageRestoresTwice) {
  CheckpointSession session;
  pid_t init = session.start("cr_memory");
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  struct stat log_at_dump {};
  ASSERT_EQ(::stat(session.log_path().c_str(), &log_at_dump), 0);

  pid_t first = session.restore_ok(session.image_path());
  ASSERT_GT(first, 0);
  session.expect_pass_after_check(first);
  ASSERT_FALSE(is_alive(first));

  // The first run appended its verdict to the log, a file the image holds open. Put the log back
  // as the dump left it (same inode, size and mtime), as a user restoring the same image twice
  // would restore its files: this test is about restoring twice, not about changed files.
  ASSERT_EQ(::truncate(session.log_path().c_str(), log_at_dump.st_size), 0);
  const timespec times[2] = {log_at_dump.st_atim, log_at_dump.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, session.log_path().c_str(), times, 0), 0);

  pid_t second = session.restore_ok(session.image_path());
  ASSERT_GT(second, 0);
  session.expect_pass_after_check(second);
}

TEST(CheckpointLifecycle, RestoredTreeCanBeDumpedAndRestoredAgain) {
  CheckpointSession session;
  pid_t init = session.start("cr_memory");
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path("first")));
  pid_t restored = session.restore_ok(session.image_path("first"));
  ASSERT_GT(restored, 0);
  ASSERT_TRUE(session.dump_ok(restored, session.image_path("second")));
  pid_t restored_again = session.restore_ok(session.image_path("second"));
  ASSERT_GT(restored_again, 0);
  session.expect_pass_after_check(restored_again);
}

}  // namespace
}  // namespace cryo::e2e
