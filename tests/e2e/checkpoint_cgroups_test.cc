// Restored processes come back in the cgroups they were in at the dump, in every hierarchy (cgroup
// v2 and v1 controllers), each process in its own; a cgroup that was removed meanwhile is made again.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

// The mount point of the cgroup2 hierarchy, or of the v1 one whose options name `controller`.
std::string cgroup_mount(const std::string& controller) {
  std::istringstream lines(slurp("/proc/self/mountinfo"));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string word; words >> word;) w.push_back(word);
    size_t dash = 0;
    while (dash < w.size() && w[dash] != "-") ++dash;
    if (dash + 3 >= w.size() || w[3] != "/") continue;
    bool v2 = w[dash + 1] == "cgroup2";
    bool v1 = w[dash + 1] == "cgroup" && ("," + w[dash + 3] + ",").find("," + controller + ",") != std::string::npos;
    if (controller.empty() ? v2 : v1) return w[4];
  }
  return "";
}

// The path of `pid` in the hierarchy whose /proc/PID/cgroup line has `controllers`.
std::string cgroup_of(pid_t pid, const std::string& controllers) {
  std::istringstream lines(slurp("/proc/" + std::to_string(pid) + "/cgroup"));
  for (std::string line; std::getline(lines, line);) {
    size_t first = line.find(':'), second = line.find(':', first + 1);
    if (line.substr(first + 1, second - first - 1) == controllers) return line.substr(second + 1);
  }
  return "(none)";
}

// Made by the test, removed when it ends (after the session that killed the processes in them).
struct ScratchCgroups {
  std::vector<std::string> dirs;  // Innermost last.
  ~ScratchCgroups() { remove(); }
  void remove() {
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
      for (int tries = 0; tries < 50 && ::rmdir(it->c_str()) != 0 && errno == EBUSY; ++tries) ::usleep(20000);
    }
  }
};

void move(pid_t pid, const std::string& dir) {
  std::ofstream procs(dir + "/cgroup.procs");
  procs << pid << std::flush;
  ASSERT_TRUE(procs.good()) << "could not move " << pid << " into " << dir;
}

TEST(CheckpointCgroups, EveryProcessComesBackInItsOwnCgroupsEvenWhenTheyWereRemoved) {
  std::string v2 = cgroup_mount("");
  std::string pids = cgroup_mount("pids");
  if (v2.empty() && pids.empty()) GTEST_SKIP() << "no cgroup hierarchy is mounted";
  ScratchCgroups scratch;
  CheckpointSession session;
  std::string name = "/cryo-e2e-" + std::to_string(::getpid());
  for (const auto& root : {v2, pids}) {
    if (root.empty()) continue;
    scratch.dirs.push_back(root + name);
    ASSERT_EQ(::mkdir(scratch.dirs.back().c_str(), 0755), 0) << scratch.dirs.back();
  }
  if (!v2.empty()) {
    scratch.dirs.push_back(v2 + name + "/inner");
    ASSERT_EQ(::mkdir(scratch.dirs.back().c_str(), 0755), 0) << scratch.dirs.back();
  }

  pid_t init = session.start("cr_tree");
  ASSERT_GT(init, 0);
  std::istringstream children(slurp("/proc/" + std::to_string(init) + "/task/" + std::to_string(init) + "/children"));
  pid_t child = 0;
  children >> child;
  ASSERT_GT(child, 0);
  // The init moves, its children stay where they were: each must come back in its own.
  if (!v2.empty()) move(init, v2 + name + "/inner");
  if (!pids.empty()) move(init, pids + name);
  std::string child_v2 = cgroup_of(child, ""), child_pids = cgroup_of(child, "pids");

  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  scratch.remove();  // Empty now that the tree is gone: restore must make them again.
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  std::istringstream restored_children(slurp("/proc/" + std::to_string(restored) + "/task/" + std::to_string(restored) + "/children"));
  pid_t restored_child = 0;
  restored_children >> restored_child;
  ASSERT_GT(restored_child, 0);
  if (!v2.empty()) {
    EXPECT_EQ(cgroup_of(restored, ""), name + "/inner");
    EXPECT_EQ(cgroup_of(restored_child, ""), child_v2);
  }
  if (!pids.empty()) {
    EXPECT_EQ(cgroup_of(restored, "pids"), name);
    EXPECT_EQ(cgroup_of(restored_child, "pids"), child_pids);
  }
  EXPECT_NE(slurp(session.image_path() + "/restore.log").find("(it was gone)"), std::string::npos);
  session.expect_pass_after_check(restored);
}

}  // namespace
}  // namespace cryo::e2e
