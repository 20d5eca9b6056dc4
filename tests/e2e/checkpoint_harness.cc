#include "e2e/checkpoint_harness.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <thread>

namespace cryo::e2e {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

pid_t parse_pid(const std::string& text) {
  char* end = nullptr;
  long value = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str() || (*end != '\n' && *end != '\0') || value <= 0) return 0;
  return static_cast<pid_t>(value);
}

}  // namespace

CheckpointSession::CheckpointSession() { EXPECT_FALSE(tmp_.path().empty()) << "mkdtemp failed"; }

CheckpointSession::~CheckpointSession() {
  owned_.clear();  // SIGKILL every init we were given; their namespaces die with them
  expect_nothing_left_running();
}

void CheckpointSession::own(pid_t pid) {
  if (pid > 0) owned_.emplace_back(pid);
}

void CheckpointSession::disown_exited(pid_t pid) {
  // Once it is gone its PID may be reused by a stranger, who must not get our SIGKILL.
  for (auto& owned : owned_)
    if (owned.get() == pid) owned.forget();
}

pid_t CheckpointSession::start(const std::string& workload_name, const std::vector<std::string>& args,
                               const std::vector<std::string>& run_args) {
  std::vector<std::string> argv = {workload(workload_name)};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--tag=" + tmp_.path());
  return start_command(argv, run_args);
}

pid_t CheckpointSession::start_command(const std::vector<std::string>& argv, const std::vector<std::string>& run_args) {
  pid_t init = run_detached(run_args, argv, log_path());
  if (init <= 0) return 0;
  own(init);
  if (!wait_for_text(log_path(), "READY", std::chrono::seconds(20))) {
    ADD_FAILURE() << argv[0] << " did not report READY; log:\n" << slurp(log_path());
    return 0;
  }
  // A setup failure is reported right after (or instead of) READY.
  std::string log = slurp(log_path());
  if (log.find("FAIL") != std::string::npos) {
    ADD_FAILURE() << argv[0] << " failed its setup; log:\n" << log;
    return 0;
  }
  return init;
}

CommandResult CheckpointSession::dump(pid_t init, const std::string& image, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"dump", "-t", std::to_string(init), "-D", image};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_cryo(args, std::chrono::seconds(60));
}

bool CheckpointSession::dump_ok(pid_t init, const std::string& image, const std::vector<std::string>& extra, CommandResult* out) {
  auto result = dump(init, image, extra);
  if (out) *out = result;
  EXPECT_EQ(result.status, 0) << "cryo dump failed: " << result.err;
  if (result.status != 0) return false;
  EXPECT_EQ(::access((image + "/inventory.img").c_str(), F_OK), 0) << "no inventory in " << image;
  bool leave_running = std::find(extra.begin(), extra.end(), "--leave-running") != extra.end();
  if (leave_running) {
    EXPECT_TRUE(is_alive(init)) << "the workload died although dump was given --leave-running";
  } else {
    bool gone = wait_for_exit(init, std::chrono::seconds(5));
    EXPECT_TRUE(gone) << "dump did not kill the tree (init " << init << ")";
    if (gone) disown_exited(init);
  }
  return !::testing::Test::HasFailure();
}

CommandResult CheckpointSession::restore(const std::string& image, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"restore", "-D", image, "--detach"};
  args.insert(args.end(), extra.begin(), extra.end());
  // scripts/mutants.sh sets it to "--no-verify" to tell which mutants only verification catches.
  if (const char* more = std::getenv("CRYO_TEST_RESTORE_ARG"); more && *more) args.push_back(more);
  return run_cryo(args, std::chrono::seconds(60));
}

pid_t CheckpointSession::restore_ok(const std::string& image, const std::vector<std::string>& extra, CommandResult* out) {
  auto result = restore(image, extra);
  if (out) *out = result;
  pid_t init = parse_pid(result.out);
  own(init);
  std::string differences;  // Every difference verification found, from the restore's debug log.
  if (result.status != 0)
    for (const auto& line : lines_of(slurp(image + "/restore.log")))
      if (line.find("verification: ") != std::string::npos) differences += "\n  " + line;
  EXPECT_EQ(result.status, 0) << "cryo restore failed: " << result.err << differences;
  EXPECT_GT(init, 0) << "cryo restore --detach printed '" << result.out << "'; stderr: " << result.err;
  if (result.status != 0 || init <= 0) return 0;
  EXPECT_TRUE(is_alive(init)) << "restored init " << init << " is not running; log:\n" << slurp(log_path());
  return init;
}

void CheckpointSession::request_check(pid_t init) {
  EXPECT_EQ(::kill(init, SIGUSR1), 0) << "kill(" << init << ", SIGUSR1)";
}

Verdict CheckpointSession::wait_for_verdict(pid_t init, std::chrono::milliseconds timeout) {
  Verdict verdict;
  verdict.exited = wait_for_exit(init, timeout);
  if (verdict.exited) disown_exited(init);
  verdict.log = slurp(log_path());
  bool pass_line = false, fail_line = false;
  for (const auto& line : lines_of(verdict.log)) {
    if (line == "PASS") pass_line = true;
    if (line.rfind("FAIL", 0) == 0) fail_line = true;
    if (line.rfind("READY", 0) == 0) ++verdict.ready_lines;
  }
  verdict.passed = pass_line && !fail_line;
  return verdict;
}

namespace {

// For a check that never finished: where each process of the tree (two levels) is, as /proc shows
// it: state, wait channel and signal masks, so a stopped or stuck process is named.
std::string tree_states(pid_t init) {
  std::string out;
  std::vector<pid_t> pids = {init};
  for (pid_t child : children_of(init)) {
    pids.push_back(child);
    for (pid_t grandchild : children_of(child)) pids.push_back(grandchild);
  }
  for (pid_t pid : pids) {
    std::string dir = "/proc/" + std::to_string(pid);
    std::string line = "pid " + std::to_string(pid) + ": wchan " + slurp(dir + "/wchan");
    for (const auto& l : lines_of(slurp(dir + "/status")))
      for (const char* key : {"State:", "SigPnd:", "ShdPnd:", "SigBlk:", "SigCgt:", "TracerPid:"})
        if (l.rfind(key, 0) == 0) line += " " + l;
    out += line + "\n";
  }
  return out;
}

}  // namespace

void CheckpointSession::expect_pass_after_check(pid_t init) {
  if (init <= 0) return;
  request_check(init);
  Verdict verdict = wait_for_verdict(init);
  EXPECT_TRUE(verdict.exited) << "the workload did not finish its check within 20 s; log:\n"
                              << verdict.log << "the tree now:\n"
                              << (verdict.exited ? std::string() : tree_states(init));
  EXPECT_TRUE(verdict.passed) << "log:\n" << verdict.log;
  EXPECT_EQ(verdict.ready_lines, 1) << "the workload started again instead of continuing; log:\n" << verdict.log;
}

void CheckpointSession::expect_round_trip_passes(const std::string& workload_name, const std::vector<std::string>& args,
                                                 const std::vector<std::string>& restore_extra,
                                                 const std::vector<std::string>& run_args) {
  pid_t init = start(workload_name, args, run_args);
  ASSERT_GT(init, 0);
  ASSERT_TRUE(dump_ok(init, image_path()));
  pid_t restored = restore_ok(image_path(), restore_extra);
  ASSERT_GT(restored, 0);
  expect_pass_after_check(restored);
}

std::vector<pid_t> CheckpointSession::leftover_processes() const {
  std::vector<pid_t> found;
  if (tmp_.path().empty()) return found;
  DIR* proc = ::opendir("/proc");
  if (!proc) return found;
  while (dirent* entry = ::readdir(proc)) {
    pid_t pid = parse_pid(entry->d_name);
    if (pid <= 0 || pid == ::getpid()) continue;
    std::string cmdline = slurp("/proc/" + std::to_string(pid) + "/cmdline");
    if (cmdline.find(tmp_.path()) != std::string::npos && is_alive(pid)) found.push_back(pid);
  }
  ::closedir(proc);
  return found;
}

void CheckpointSession::expect_nothing_left_running() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  std::vector<pid_t> left = leftover_processes();
  while (!left.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    left = leftover_processes();
  }
  if (left.empty()) return;
  std::string described;
  for (pid_t pid : left) {
    std::string cmdline = slurp("/proc/" + std::to_string(pid) + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    described += "\n  " + std::to_string(pid) + ": " + cmdline;
    // These carry our private directory in their command line: cryo started them for this test.
    OwnedPid straggler(pid);
  }
  ADD_FAILURE() << "processes of this test still running:" << described;
}

std::vector<pid_t> children_of(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children";
  std::vector<pid_t> children;
  std::istringstream in(slurp(path));
  for (pid_t child; in >> child;) children.push_back(child);
  return children;
}

CommandResult cryo_under_open_file_limit(int nofile, const std::vector<std::string>& args) {
  std::string limit = "--nofile=" + std::to_string(nofile) + ":" + std::to_string(nofile);
  std::vector<std::string> command = {"/usr/bin/setpriv", "--bounding-set", "-sys_resource", "--inh-caps", "-sys_resource",
                                      "/usr/bin/prlimit", limit, CRYO_BINARY};
  command.insert(command.end(), args.begin(), args.end());
  return run_command(command);
}

CommandResult restore_under_open_file_limit(const std::string& image, int nofile) {
  return cryo_under_open_file_limit(nofile, {"restore", "-D", image, "--detach"});
}

void expect_one_clear_error(const CommandResult& result, const std::string& must_mention) {
  EXPECT_NE(result.status, 0) << "cryo succeeded; stdout: " << result.out;
  EXPECT_NE(result.status, -1) << "cryo timed out";
  EXPECT_EQ(result.err.rfind("cryo: error: ", 0), 0u) << "stderr: " << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << "stderr: " << result.err;
  EXPECT_NE(result.err.find(must_mention), std::string::npos)
      << "the error does not mention '" << must_mention << "': " << result.err;
}

void expect_dump_refused(CheckpointSession& session, pid_t init, const std::string& must_mention) {
  for (const auto& extra : {std::vector<std::string>{}, std::vector<std::string>{"--leave-running"}}) {
    auto result = session.dump(init, session.image_path(), extra);
    expect_one_clear_error(result, must_mention);
    EXPECT_NE(result.err.find("which cryo cannot dump"), std::string::npos) << result.err;
    EXPECT_NE(::access((session.image_path() + "/inventory.img").c_str(), F_OK), 0) << "a refused dump left an image";
    EXPECT_TRUE(is_alive(init)) << "the refused dump ended the tree";
  }
}

std::vector<std::string> pid_methods() { return {"clone3", "ns_last_pid"}; }

}  // namespace cryo::e2e
