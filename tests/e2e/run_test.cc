// End-to-end tests of `cryo run`: the real binary launches small workloads (tests/workloads/run_*.c)
// that report what they see inside their namespaces.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <dirent.h>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "e2e/harness.h"

namespace cryo::e2e {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// key=value lines, as run_report prints them.
std::map<std::string, std::string> parse_report(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

double host_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

int line_count(const std::string& text) { return static_cast<int>(std::count(text.begin(), text.end(), '\n')); }

// Host PIDs whose parent is `parent`.
std::set<pid_t> children_of(pid_t parent) {
  std::set<pid_t> out;
  DIR* proc = opendir("/proc");
  if (!proc) return out;
  while (dirent* entry = readdir(proc)) {
    pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
    if (pid <= 0) continue;
    std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
    auto paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream fields(stat.substr(paren + 2));
    std::string state;
    pid_t ppid = 0;
    fields >> state >> ppid;
    if (ppid == parent) out.insert(pid);
  }
  closedir(proc);
  return out;
}

std::string status_field(pid_t pid, const std::string& key) {
  std::istringstream in(slurp("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return line.substr(key.size() + 1);
  return "";
}

// `cryo run` in the background, with stdout and stderr in files, for the tests that signal it.
class BackgroundCryo {
 public:
  BackgroundCryo(const TempDir& dir, const std::vector<std::string>& args)
      : out_path_(dir / "cryo.out"), err_path_(dir / "cryo.err") {
    pid_ = fork();
    if (pid_ == 0) {
      int in = open("/dev/null", O_RDONLY);
      int out = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(in, 0);
      dup2(out, 1);
      dup2(err, 2);
      // A process group of its own, as a shell would give a job; nothing here signals the group.
      setpgid(0, 0);
      std::vector<char*> argv = {const_cast<char*>(CRYO_BINARY)};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~BackgroundCryo() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  std::string out() const { return slurp(out_path_); }
  std::string err() const { return slurp(err_path_); }
  const std::string& out_path() const { return out_path_; }

  // The exit status as a shell reports it, or -1 if cryo still runs after `timeout`.
  int wait(milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
    return -1;
  }

 private:
  std::string out_path_, err_path_;
  pid_t pid_ = -1;
  bool reaped_ = false;
};

TEST(Run, WorkloadIsPid1AndSeesOnlyItsTree) {
  auto result = run_cryo({"run", "--", workload("run_report")});
  ASSERT_EQ(result.status, 0) << result.err;
  auto report = parse_report(result.out);
  EXPECT_EQ(report["pid"], "1");
  EXPECT_EQ(report["ppid"], "0");
  // Its own /proc shows the new PID namespace: the workload alone.
  EXPECT_EQ(report["processes"], "1");
  EXPECT_EQ(result.err, "");
}

TEST(Run, UptimeStartsAtRequestedValue) {
  auto result = run_cryo({"run", "--uptime", "49d", "--", workload("run_report")});
  ASSERT_EQ(result.status, 0) << result.err;
  auto report = parse_report(result.out);
  const double want = 49 * 86400.0;
  for (const char* key : {"uptime", "boottime", "monotonic"}) {
    double seen = std::atof(report[key].c_str());
    EXPECT_GE(seen, want - 0.01) << key;
    EXPECT_LT(seen, want + 10) << key;
  }
}

TEST(Run, BoottimeAndMonotonicOffsetsShiftTheirClocks) {
  double boottime_before = host_seconds(CLOCK_BOOTTIME);
  double monotonic_before = host_seconds(CLOCK_MONOTONIC);
  auto result = run_cryo({"run", "--boottime", "36h", "--monotonic", "15m", "--", workload("run_report")});
  double boottime_after = host_seconds(CLOCK_BOOTTIME);
  ASSERT_EQ(result.status, 0) << result.err;
  auto report = parse_report(result.out);
  double boottime = std::atof(report["boottime"].c_str());
  double monotonic = std::atof(report["monotonic"].c_str());
  double uptime = std::atof(report["uptime"].c_str());
  // run_report prints the clocks rounded to 3 decimals, which may land up to half a millisecond
  // on either side of a host reading taken less than a millisecond away.
  const double rounding = 0.0005;
  EXPECT_GE(boottime, boottime_before + 36 * 3600 - rounding);
  EXPECT_LE(boottime, boottime_after + 36 * 3600 + rounding);
  EXPECT_GE(monotonic, monotonic_before + 15 * 60 - rounding);
  EXPECT_LE(monotonic, monotonic_before + 15 * 60 + (boottime_after - boottime_before) + rounding);
  // /proc/uptime follows CLOCK_BOOTTIME (to its 2 decimals).
  EXPECT_NEAR(uptime, boottime, 0.05);
}

TEST(Run, NegativeOffsetIsAcceptedWhileTheClockStaysPositive) {
  double host = host_seconds(CLOCK_MONOTONIC);
  ASSERT_GT(host, 4.0) << "the host booted too recently for this test";
  long back = static_cast<long>(host / 2);
  auto result = run_cryo({"run", "--monotonic", "-" + std::to_string(back), "--", workload("run_report")});
  ASSERT_EQ(result.status, 0) << result.err;
  double monotonic = std::atof(parse_report(result.out)["monotonic"].c_str());
  EXPECT_GE(monotonic, host - back);
  EXPECT_LT(monotonic, host - back + 10);
}

TEST(Run, OffsetTheKernelRefusesNamesTheClock) {
  for (const char* clock : {"monotonic", "boottime"}) {
    auto result = run_cryo({"run", std::string("--") + clock, "-100000d", "--", workload("run_report")});
    EXPECT_EQ(result.status, 1) << clock;
    EXPECT_EQ(result.out, "") << "the workload must not have run";
    EXPECT_EQ(line_count(result.err), 1) << result.err;
    EXPECT_EQ(result.err.rfind("cryo: error: ", 0), 0u) << result.err;
    std::string upper = clock[0] == 'm' ? "CLOCK_MONOTONIC" : "CLOCK_BOOTTIME";
    EXPECT_NE(result.err.find(upper), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("-8640000000s"), std::string::npos) << result.err;
  }
}

TEST(Run, HostnameIsTheTreesOwn) {
  char host_before[256] = {};
  gethostname(host_before, sizeof host_before - 1);
  auto result = run_cryo({"run", "--hostname", "cryo-box", "--", workload("run_report")});
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_EQ(parse_report(result.out)["hostname"], "cryo-box");
  char host_after[256] = {};
  gethostname(host_after, sizeof host_after - 1);
  EXPECT_STREQ(host_before, host_after);
}

TEST(Run, ExitStatusPassesThrough) {
  EXPECT_EQ(run_cryo({"run", "--", workload("run_report"), "exit", "7"}).status, 7);
  EXPECT_EQ(run_cryo({"run", "--", workload("run_report"), "exit", "0"}).status, 0);
}

TEST(Run, DeathBySignalIs128PlusSignal) {
  auto result = run_cryo({"run", "--", workload("run_report"), "segv"});
  EXPECT_EQ(result.status, 128 + SIGSEGV) << result.err;
}

TEST(Run, SigtermIsForwardedToTheWorkload) {
  TempDir dir;
  BackgroundCryo cryo(dir, {"run", "--", workload("run_wait"), "handle"});
  ASSERT_TRUE(wait_for_text(cryo.out_path(), "ready")) << cryo.err();
  auto start = std::chrono::steady_clock::now();
  kill(cryo.pid(), SIGTERM);
  EXPECT_EQ(cryo.wait(seconds(4)), 42) << cryo.err();
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(3)) << "the handler, not the escalation, ended it";
  EXPECT_NE(cryo.out().find("got SIGTERM"), std::string::npos);
}

TEST(Run, WorkloadWithoutHandlerIsKilledAfterGracePeriod) {
  TempDir dir;
  BackgroundCryo cryo(dir, {"run", "--", workload("run_wait"), "ignore"});
  ASSERT_TRUE(wait_for_text(cryo.out_path(), "ready")) << cryo.err();
  auto start = std::chrono::steady_clock::now();
  kill(cryo.pid(), SIGTERM);
  EXPECT_EQ(cryo.wait(seconds(15)), 128 + SIGKILL) << cryo.err();
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, milliseconds(4500)) << "a PID-namespace init ignores SIGTERM: only the grace period ends it";
  EXPECT_LT(took, seconds(10));
}

TEST(Run, SecondSignalKillsAtOnce) {
  TempDir dir;
  BackgroundCryo cryo(dir, {"run", "--", workload("run_wait"), "ignore"});
  ASSERT_TRUE(wait_for_text(cryo.out_path(), "ready")) << cryo.err();
  auto start = std::chrono::steady_clock::now();
  kill(cryo.pid(), SIGINT);
  std::this_thread::sleep_for(milliseconds(200));
  kill(cryo.pid(), SIGINT);
  EXPECT_EQ(cryo.wait(seconds(4)), 128 + SIGKILL) << cryo.err();
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(3));
}

TEST(Run, TreeDiesWithForegroundCryo) {
  TempDir dir;
  BackgroundCryo cryo(dir, {"run", "--", workload("run_wait"), "ignore"});
  ASSERT_TRUE(wait_for_text(cryo.out_path(), "ready")) << cryo.err();
  auto children = children_of(cryo.pid());
  ASSERT_EQ(children.size(), 1u);
  OwnedPid init(*children.begin());
  EXPECT_EQ(status_field(init.get(), "NSpid"), "\t" + std::to_string(init.get()) + "\t1");
  kill(cryo.pid(), SIGKILL);
  EXPECT_EQ(cryo.wait(seconds(5)), 128 + SIGKILL);
  EXPECT_TRUE(wait_for_exit(init.get(), milliseconds(5000))) << "the init outlived cryo";
  init.forget();
}

TEST(Run, DetachPrintsTheInitAndLeavesNothingElse) {
  TempDir dir;
  // As a subreaper, this test adopts whatever cryo leaves behind: that must be the init alone.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  pid_t raw = run_detached({}, {workload("run_wait"), "ignore"}, dir / "log");
  OwnedPid init(raw);
  prctl(PR_SET_CHILD_SUBREAPER, 0);
  ASSERT_GT(init.get(), 0);
  EXPECT_TRUE(is_alive(init.get()));
  EXPECT_TRUE(wait_for_text(dir / "log", "ready pid=1"));
  // A PID-namespace init: two PID levels, PID 1 in the inner one.
  EXPECT_EQ(status_field(init.get(), "NSpid"), "\t" + std::to_string(init.get()) + "\t1");
  EXPECT_EQ(children_of(getpid()), std::set<pid_t>{init.get()});
  // It leads its own session, away from the caller's terminal.
  EXPECT_EQ(getsid(init.get()), init.get());
}

TEST(Run, DetachedLogReceivesOutputAppended) {
  TempDir dir;
  std::string log = dir / "log";
  {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_GE(write(fd, "before\n", 7), 0);
    close(fd);
  }
  OwnedPid init(run_detached({"--uptime", "1h"}, {workload("run_report")}, log));
  ASSERT_GT(init.get(), 0);
  ASSERT_TRUE(wait_for_text(log, "processes="));
  std::string text = slurp(log);
  EXPECT_EQ(text.rfind("before\npid=1\n", 0), 0u) << text;
  EXPECT_GE(std::atof(parse_report(text)["uptime"].c_str()), 3600.0);
}

TEST(Run, DetachedLogIsCreatedPrivate) {
  TempDir dir;
  OwnedPid init(run_detached({}, {workload("run_report")}, dir / "new.log"));
  ASSERT_GT(init.get(), 0);
  struct stat st{};
  ASSERT_EQ(stat((dir / "new.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(Run, BadDurationIsOneUsageError) {
  auto result = run_cryo({"run", "--uptime", "5x", "--", workload("run_report")});
  EXPECT_EQ(result.status, 2);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(line_count(result.err), 1) << result.err;
  EXPECT_EQ(result.err.rfind("cryo: error: --uptime '5x'", 0), 0u) << result.err;
}

TEST(Run, MissingCommandIs127) {
  auto result = run_cryo({"run", "--", "no-such-command-for-cryo"});
  EXPECT_EQ(result.status, 127);
  EXPECT_EQ(line_count(result.err), 1) << result.err;
  EXPECT_EQ(result.err.rfind("cryo: error: cannot execute 'no-such-command-for-cryo': No such file or directory", 0), 0u)
      << result.err;
}

TEST(Run, NonExecutableCommandIs126) {
  TempDir dir;
  std::string script = dir / "not-executable";
  {
    int fd = open(script.c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(write(fd, "#!/bin/sh\n", 10), 0);
    close(fd);
  }
  auto result = run_cryo({"run", "--", script});
  EXPECT_EQ(result.status, 126);
  EXPECT_EQ(line_count(result.err), 1) << result.err;
  EXPECT_EQ(result.err.rfind("cryo: error: cannot execute '" + script + "': Permission denied", 0), 0u) << result.err;
}

TEST(Run, NoCommandIsAUsageError) {
  auto result = run_cryo({"run"});
  EXPECT_EQ(result.status, 2);
  EXPECT_EQ(line_count(result.err), 1) << result.err;
}

}  // namespace
}  // namespace cryo::e2e
