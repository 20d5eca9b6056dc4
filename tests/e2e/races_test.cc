// Races a dump or restore can meet: a second dump of a tree being dumped, a tree whose processes
// fork and exit while it is frozen, and PIDs restore cannot have.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <sstream>
#include <thread>

#include "dump/dump_lock.h"
#include "e2e/checkpoint_harness.h"
#include "image/framed_file.h"
#include "image/image_dir.h"
#include "pstree.pb.h"

namespace cryo::e2e {
namespace {

namespace fs = std::filesystem;

uint64_t pidns_inode(pid_t pid) {
  struct stat st;
  EXPECT_EQ(::stat(("/proc/" + std::to_string(pid) + "/ns/pid").c_str(), &st), 0);
  return st.st_ino;
}

void expect_running_untraced(pid_t pid) {
  std::string status = slurp("/proc/" + std::to_string(pid) + "/status");
  ASSERT_FALSE(status.empty()) << "pid " << pid << " is gone";
  EXPECT_NE(status.find("TracerPid:\t0\n"), std::string::npos) << "pid " << pid << " is left traced";
  EXPECT_EQ(status.find("State:\tt"), std::string::npos) << "pid " << pid << " is left in a ptrace stop";
  EXPECT_EQ(status.find("State:\tT"), std::string::npos) << "pid " << pid << " is left stopped";
}

int count_lines(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  int n = 0;
  for (std::string l; std::getline(in, l);) n += l == line;
  return n;
}

// Takes the tree's dump lock exactly as a running dump does: its fd, or -1 (a failure) when it cannot.
int hold_dump_lock(pid_t init) {
  std::string path = dump::dump_lock_path(pidns_inode(init));
  ::mkdir("/run/cryo", 0700);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  EXPECT_GE(fd, 0) << path;
  if (fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ADD_FAILURE() << "a real dump of this tree is running?";
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST(Races, ASecondDumpOfATreeBeingDumpedIsRefused) {
  CheckpointSession session;
  pid_t init = session.start("cr_memory", {"--mib=8"});
  ASSERT_GT(init, 0);
  {
    int fd = hold_dump_lock(init);
    ASSERT_GE(fd, 0);
    auto result = session.dump(init, session.image_path(), {"--leave-running"});
    ::close(fd);
    expect_one_clear_error(result, "another cryo dump of the tree of PID " + std::to_string(init) + " is running");
  }
  EXPECT_FALSE(fs::exists(session.image_path())) << "the refused dump created its directory";
  for (pid_t pid : {init, children_of(init).at(0)}) expect_running_untraced(pid);
  // The lock is released with its holder: the next dump goes ahead.
  ASSERT_TRUE(session.dump_ok(init, session.image_path(), {"--leave-running"}));
  session.expect_pass_after_check(init);
}

// Another cryo's clean-up of stale lock files holds each free one for a moment; a dump that meets
// such a brief hold waits it out instead of reporting a dump that is not there.
TEST(Races, ALockHeldForAMomentIsWaitedFor) {
  CheckpointSession session;
  pid_t init = session.start("cr_memory", {"--mib=8"});
  ASSERT_GT(init, 0);
  int fd = hold_dump_lock(init);
  ASSERT_GE(fd, 0);
  // Released 30 ms on, while the dump below is starting: after its first try, within its wait.
  std::thread release([fd] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    ::close(fd);
  });
  bool dumped = session.dump_ok(init, session.image_path(), {"--leave-running"});
  release.join();
  ASSERT_TRUE(dumped) << "a lock held for 30 ms made the dump fail";
  session.expect_pass_after_check(init);
}

// Two real dumps started together: one holds the lock while it copies 256 MiB, the other is refused.
TEST(Races, TwoDumpsAtOnceOneIsRefused) {
  CheckpointSession session;
  // The tree runs on frozen for the whole first dump, which writes 256 MiB of page cache this VM
  // gives slowly the first time (2.5 s measured here, 0.15 s when warm): the clock gap this test
  // allows is for that, it is about the lock, not speed.
  pid_t init = session.start("cr_memory", {"--mib=256", "--max-jump-ms=10000"});
  ASSERT_GT(init, 0);
  std::string lock = dump::dump_lock_path(pidns_inode(init));
  struct stat lock_st {};
  // The first dump runs in the background; the test waits until the kernel shows its flock.
  pid_t first = ::fork();
  ASSERT_GE(first, 0);
  if (first == 0) {
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    std::string image = session.image_path("first");
    std::string pid = std::to_string(init);
    ::execl(CRYO_BINARY, CRYO_BINARY, "dump", "-t", pid.c_str(), "-D", image.c_str(), "--leave-running",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  OwnedPid first_dump(first);
  bool held = false;
  for (int i = 0; i < 2000 && !held; ++i) {
    if (::stat(lock.c_str(), &lock_st) == 0) {
      std::string inode = ":" + std::to_string(lock_st.st_ino) + " ";
      std::istringstream locks(slurp("/proc/locks"));
      for (std::string line; std::getline(locks, line);)
        held |= line.find("FLOCK") != std::string::npos && line.find(inode) != std::string::npos;
    }
    if (!held) ::usleep(500);
  }
  ASSERT_TRUE(held) << "the first dump never took its lock";
  auto second = session.dump(init, session.image_path("second"), {"--leave-running"});
  int status = 0;
  ASSERT_EQ(::waitpid(first, &status, 0), first);
  first_dump.forget();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the first dump failed, status " << status;
  expect_one_clear_error(second, "another cryo dump of the tree of PID " + std::to_string(init) + " is running");
  EXPECT_TRUE(fs::exists(session.image_path("first") + "/inventory.img"));
  EXPECT_FALSE(fs::exists(session.image_path("second"))) << "the refused dump created its directory";
  session.expect_pass_after_check(init);
}

// Processes fork and exit while the freezer seizes the tree: each dump is either right (its restore
// passes the workload's own check, zombies and all) or refused with one clean error line, and the
// dumped tree runs on.
TEST(Races, DumpsOfATreeThatForksAndReapsAreRightOrRefusedCleanly) {
  CheckpointSession session;
  pid_t init = session.start("cr_churn");
  ASSERT_GT(init, 0);
  int restored_passes = 0, refused = 0;
  for (int i = 0; i < 6; ++i) {
    SCOPED_TRACE("dump " + std::to_string(i));
    std::string image = session.image_path("image-" + std::to_string(i));
    auto result = session.dump(init, image, {"--leave-running"});
    expect_running_untraced(init);
    if (result.status != 0) {
      ++refused;
      std::printf("dump %d refused: %s", i, result.err.c_str());
      expect_one_clear_error(result, "");
      EXPECT_FALSE(fs::exists(image + "/inventory.img")) << "a failed dump left a complete image";
      continue;
    }
    // The dumped tree runs on (--leave-running): this restore is a copy on purpose.
    pid_t restored = session.restore_ok(image, {"--allow-copy"});
    ASSERT_GT(restored, 0);
    session.request_check(restored);
    ASSERT_TRUE(wait_for_exit(restored, std::chrono::seconds(20))) << slurp(session.log_path());
    ++restored_passes;
    std::string log = slurp(session.log_path());
    ASSERT_EQ(count_lines(log, "PASS"), restored_passes) << "the restored tree failed its check:\n" << log;
  }
  std::printf("forking tree: %d dumps restored and passed, %d refused\n", restored_passes, refused);
  EXPECT_GT(restored_passes, 0) << "no dump of a forking tree ever succeeded";
  session.expect_pass_after_check(init);
}

// An image whose process tree lists a PID twice cannot be restored with its PIDs: validation says which.
TEST(Races, AnImageListingAPidTwiceIsRefusedNamingThePid) {
  CheckpointSession session;
  pid_t init = session.start("cr_tree");
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  std::string dir = session.image_path();
  image::ProcessTree tree;
  ASSERT_TRUE(image::read_image(dir, image::Kind::ProcessTree, 0, &tree).has_value());
  ASSERT_GE(tree.processes_size(), 3);
  uint32_t twice = tree.processes(2).pid();
  *tree.add_processes() = tree.processes(2);
  ASSERT_TRUE(fs::remove(dir + "/pstree.img"));
  ASSERT_TRUE(image::write_image(dir, image::Kind::ProcessTree, 0, tree).has_value());
  // Make the inventory agree, as a buggy dumper would have written it.
  image::Inventory inventory;
  ASSERT_TRUE(image::read_image(dir, image::Kind::Inventory, 0, &inventory).has_value());
  for (auto& file : *inventory.mutable_files()) {
    if (file.name() != "pstree.img") continue;
    file.set_size(fs::file_size(dir + "/pstree.img"));
    file.set_xxh3(*image::checksum_file(dir + "/pstree.img"));
  }
  image::seal_inventory(inventory);
  ASSERT_TRUE(fs::remove(dir + "/inventory.img"));
  ASSERT_TRUE(image::write_image(dir, image::Kind::Inventory, 0, inventory).has_value());

  for (const std::string& method : pid_methods()) {
    auto result = session.restore(dir, {"--pid-method", method});
    expect_one_clear_error(result, "pid " + std::to_string(twice) + " appears twice in the tree");
    session.expect_nothing_left_running();
  }
}

}  // namespace
}  // namespace cryo::e2e
