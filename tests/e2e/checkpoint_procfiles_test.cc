// Files of the tree's own /proc come back naming what they named: the same global file, the same
// process (by its PID, which restore keeps), with position and flags (tests/workloads/cr_procfiles.c
// says what it holds and checks). What a reopen would not give back is refused at dump, naming it.
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <ostream>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

TEST(CheckpointProcFiles, FilesOfTheTreesProcComeBackForTheSameProcessesAtTheirPositions) {
  for (const std::string& method : pid_methods()) {
    SCOPED_TRACE(method);
    CheckpointSession session;
    session.expect_round_trip_passes("cr_procfiles", {}, {"--pid-method", method}, {"--uptime", "100d"});
  }
}

// The host's /proc, bind-mounted where the tree can see it (its mount namespace is a copy of the
// host's): its files name processes outside the tree.
class HostProcMount {
 public:
  HostProcMount() {
    char path[] = "/tmp/cryo-hostproc-XXXXXX";
    if (!::mkdtemp(path)) return;
    dir_ = path;
    mounted_ = ::mount("/proc", dir_.c_str(), nullptr, MS_BIND, nullptr) == 0;
  }
  ~HostProcMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }
  bool ok() const { return mounted_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

struct Refusal {
  std::string mode;      // cr_procfiles --mode
  std::string mentions;  // What the error line must say.
};

void PrintTo(const Refusal& refusal, std::ostream* out) { *out << refusal.mode; }

class CheckpointProcFileRefusals : public ::testing::TestWithParam<Refusal> {};

TEST_P(CheckpointProcFileRefusals, DumpRefusesNamingTheFileAndTheTreeRunsOn) {
  HostProcMount host;
  std::vector<std::string> args{"--mode=" + GetParam().mode};
  if (GetParam().mode == "outside") {
    ASSERT_TRUE(host.ok()) << "bind mount of /proc";
    args.push_back("--path=" + host.dir() + "/1/stat");
  }
  CheckpointSession session;
  pid_t init = session.start("cr_procfiles", args);
  ASSERT_GT(init, 0);
  for (const auto& extra : {std::vector<std::string>{}, std::vector<std::string>{"--leave-running"}}) {
    auto result = session.dump(init, session.image_path(), extra);
    expect_one_clear_error(result, GetParam().mentions);
    EXPECT_NE(result.err.find("which cryo cannot dump"), std::string::npos) << result.err;
    EXPECT_NE(::access((session.image_path() + "/inventory.img").c_str(), F_OK), 0) << "a refused dump left an image";
    EXPECT_TRUE(is_alive(init)) << "the refused dump ended the tree";
  }
  session.expect_pass_after_check(init);
}

INSTANTIATE_TEST_SUITE_P(
    Modes, CheckpointProcFileRefusals,
    ::testing::Values(Refusal{"nsfs", "fd 20 (net:["},
                      Refusal{"outside", "/1/stat) is a file of a /proc other than the tree's own /proc"},
                      Refusal{"thread", "(/proc/1/task/2/stat) is a file of thread 2 of pid 1 (not its leader)"}),
    [](const ::testing::TestParamInfo<Refusal>& info) { return info.param.mode; });

}  // namespace
}  // namespace cryo::e2e
