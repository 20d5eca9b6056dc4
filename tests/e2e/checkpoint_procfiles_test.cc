// Files of the tree's own /proc come back naming what they named: the same global file, the same
// process (by its PID, which restore keeps), with position and flags (tests/workloads/cr_procfiles.c
// says what it holds and checks). What a reopen would not give back is refused at dump, naming it.
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <ostream>

#include "e2e/checkpoint_harness.h"
#include "e2e/program_scripts.h"

namespace cryo::e2e {
namespace {

TEST(CheckpointProcFiles, FilesOfTheTreesProcComeBackForTheSameProcessesAtTheirPositions) {
  for (const std::string& method : pid_methods()) {
    SCOPED_TRACE(method);
    CheckpointSession session;
    session.expect_round_trip_passes("cr_procfiles", {}, {"--pid-method", method}, {"--uptime", "100d"});
  }
}

// Programs from Debian's packages that hold /proc files open: started, dumped mid-loop, restored,
// and then checking their own files (the scripts live in the session's directory).

constexpr const char* kProcPython = R"(
import os, signal, time
up = os.open("/proc/uptime", os.O_RDONLY)
status = os.open("/proc/self/status", os.O_RDONLY)
os.read(status, 4)
loops = {"n": 0}
def check(signo, frame):
    problems = []
    if os.lseek(status, 0, os.SEEK_CUR) != 4: problems.append("/proc/self/status is at %d, was 4" % os.lseek(status, 0, os.SEEK_CUR))
    os.lseek(status, 0, os.SEEK_SET)
    text = os.read(status, 65536).decode()
    if "\nPid:\t1\n" not in text or "Name:\tpython3\n" not in text: problems.append("/proc/self/status is not its own: " + text[:60])
    seen = float(os.pread(up, 100, 0).split()[0])
    boottime = time.clock_gettime(time.CLOCK_BOOTTIME)
    if abs(seen - boottime) > 2 or seen < 3 * 86400: problems.append("/proc/uptime reads %.2f, CLOCK_BOOTTIME is %.2f" % (seen, boottime))
    if loops["n"] < 1: problems.append("the loop never ran")
    for p in problems: print("FAIL: " + p, flush=True)
    if not problems: print("PASS", flush=True)
    os._exit(1 if problems else 0)
signal.signal(signal.SIGUSR1, check)
print("READY", flush=True)
while True:
    os.pread(up, 100, 0)
    loops["n"] += 1
    time.sleep(0.01)
)";

TEST(CheckpointProcFiles, Python3KeepsReadingItsUptimeAndStatus) {
  CheckpointSession session;
  expect_program_survives(session, {"/usr/bin/python3", write_script(session, "uptime.py", kProcPython)});
}

// bash's `exec 3<` fd is inherited by every command it runs: the dump may catch a `sleep` sharing
// its open file, which comes back shared.
constexpr const char* kProcBash = R"(
exec 3</proc/uptime
n=0
check() {
  ok=1
  link=$(readlink /proc/$$/fd/3)
  [ "$link" = /proc/uptime ] || { echo "FAIL: fd 3 is $link"; ok=0; }
  read -r up rest </dev/fd/3
  [ "${up%%.*}" -ge 259200 ] || { echo "FAIL: /proc/uptime through fd 3 reads $up"; ok=0; }
  [ $n -ge 1 ] || { echo "FAIL: the loop never ran"; ok=0; }
  [ $ok = 1 ] && echo PASS
  exit $((1 - ok))
}
trap check USR1
echo READY
while true; do n=$((n + 1)); sleep 0.05; done
)";

TEST(CheckpointProcFiles, BashKeepsItsProcFdAcrossTheCommandsItRuns) {
  CheckpointSession session;
  expect_program_survives(session, {"/bin/bash", write_script(session, "uptime.sh", kProcBash)});
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
  expect_dump_refused(session, init, GetParam().mentions);
  session.expect_pass_after_check(init);
}

INSTANTIATE_TEST_SUITE_P(
    Modes, CheckpointProcFileRefusals,
    ::testing::Values(Refusal{"outside", "/1/stat) is a file of a /proc other than the tree's own /proc"},
                      Refusal{"thread", "(/proc/1/task/2/stat) is a file of thread 2 of pid 1 (not its leader)"}),
    [](const ::testing::TestParamInfo<Refusal>& info) { return info.param.mode; });

}  // namespace
}  // namespace cryo::e2e
