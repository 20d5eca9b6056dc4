// Bad input: each case is refused with one clear error line, a non-zero exit, and nothing of the
// test left running or stopped.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <gtest/gtest.h>

#include "base/scope_guard.h"
#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

void expect_untouched(pid_t pid) {
  EXPECT_TRUE(is_alive(pid)) << "pid " << pid << " died";
  std::string status = slurp("/proc/" + std::to_string(pid) + "/status");
  EXPECT_NE(status.find("TracerPid:\t0\n"), std::string::npos) << "pid " << pid << " is left traced:\n" << status;
  EXPECT_EQ(status.find("State:\tt"), std::string::npos) << "pid " << pid << " is left in a ptrace stop";
  EXPECT_EQ(status.find("State:\tT"), std::string::npos) << "pid " << pid << " is left stopped";
}

// Flips one byte of `path` in place, keeping its size.
void flip_byte(const std::string& path, off_t offset) {
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << path;
  unsigned char byte = 0;
  ASSERT_EQ(::pread(fd, &byte, 1, offset), 1) << path;
  byte ^= 0x5a;
  ASSERT_EQ(::pwrite(fd, &byte, 1, offset), 1) << path;
  ::close(fd);
}

TEST(CheckpointErrors, DumpRefusesAHostProcessThatIsNotANamespaceInit) {
  CheckpointSession session;
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  OwnedPid sleeper(pid);
  auto result = session.dump(pid, session.image_path());
  expect_one_clear_error(result, std::to_string(pid));
  expect_untouched(pid);
  EXPECT_NE(::access(session.image_path().c_str(), F_OK), 0) << "an image directory was created";
}

// The image's filesystem fills up while the pages are written (a 4 MiB tmpfs, 16 MiB of pages): one
// line that says where the space ran out, no image passed off as complete, and the tree runs on
// unharmed, with or without --leave-running.
TEST(CheckpointErrors, DumpToAFullFilesystemSaysWhereAndLeavesTheTreeRunning) {
  CheckpointSession session;
  std::string small = session.dir() / "small";
  ASSERT_EQ(::mkdir(small.c_str(), 0700), 0);
  ASSERT_EQ(::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=4m"), 0) << std::strerror(errno);
  ScopeGuard unmount([&] { ::umount2(small.c_str(), MNT_DETACH); });
  pid_t init = session.start("cr_memory", {"--mib=16"});
  ASSERT_GT(init, 0);
  std::string image = small + "/img";
  for (const auto& extra : {std::vector<std::string>{}, std::vector<std::string>{"--leave-running"}}) {
    auto result = session.dump(init, image, extra);
    expect_one_clear_error(result, "no space is left for the image in " + image);
    EXPECT_NE(::access((image + "/inventory.img").c_str(), F_OK), 0) << "a failed dump left an image";
    expect_untouched(init);
  }
  session.expect_pass_after_check(init);
}

TEST(CheckpointErrors, DumpRefusesAChildInsideTheNamespace) {
  CheckpointSession session;
  pid_t init = session.start("cr_memory");
  ASSERT_GT(init, 0);
  std::vector<pid_t> children = children_of(init);
  ASSERT_EQ(children.size(), 1u);
  auto result = session.dump(children[0], session.image_path());
  expect_one_clear_error(result, std::to_string(children[0]));
  expect_untouched(init);
  expect_untouched(children[0]);
  EXPECT_NE(::access(session.image_path().c_str(), F_OK), 0) << "an image directory was created";
  session.expect_pass_after_check(init);  // unharmed
}

TEST(CheckpointErrors, RestoreRefusesAMissingImageDirectory) {
  CheckpointSession session;
  std::string missing = session.image_path("does-not-exist");
  auto result = session.restore(missing);
  expect_one_clear_error(result, missing);
  session.expect_nothing_left_running();
}

TEST(CheckpointErrors, RestoreRefusesAnImageWhoseFileChangedOnDisk) {
  CheckpointSession session;
  std::string files = session.dir() / "files";
  ASSERT_EQ(::mkdir(files.c_str(), 0700), 0);
  pid_t init = session.start("cr_files", {"--dir=" + files});
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  // The workload held data.bin open for reading; change its content (same size, new mtime).
  flip_byte(files + "/data.bin", 100);
  auto result = session.restore(session.image_path());
  expect_one_clear_error(result, "data.bin");
  session.expect_nothing_left_running();
}

TEST(CheckpointErrors, RestoreRefusesADamagedImageFile) {
  CheckpointSession session;
  pid_t init = session.start("cr_signals");
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  std::string core = session.image_path() + "/core-1.img";
  off_t size = static_cast<off_t>(slurp(core).size());
  ASSERT_GT(size, 0) << core;
  flip_byte(core, size / 2);
  auto result = session.restore(session.image_path());
  expect_one_clear_error(result, "core-1.img");
  EXPECT_NE(result.err.find("damaged"), std::string::npos) << result.err;
  session.expect_nothing_left_running();
}

}  // namespace
}  // namespace cryo::e2e
