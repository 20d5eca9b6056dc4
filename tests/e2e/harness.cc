#include "e2e/harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace cryo::e2e {
namespace {

// What a command that ran out of time was doing: the kernel stack of each of its threads, and the
// user-space backtraces where gdb is installed. Read before it is killed, so that a rare hang seen
// only in CI explains itself in the test's output.
std::string describe_hang(pid_t pid) {
  std::string out = "\n[harness] pid " + std::to_string(pid) + " timed out; what it was doing:";
  std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream stack(task.path() / "stack");
    std::stringstream text;
    text << stack.rdbuf();
    out += "\n  tid " + task.path().filename().string() + " kernel stack:\n" + text.str();
  }
  if (::access("/usr/bin/gdb", X_OK) == 0) {
    std::string command = "timeout 20 /usr/bin/gdb -p " + std::to_string(pid) +
                          " -batch -ex 'thread apply all bt' 2>/dev/null | grep -E '^(#|Thread)'";
    if (FILE* gdb = ::popen(command.c_str(), "r")) {
      char line[512];
      while (std::fgets(line, sizeof line, gdb)) out += line;
      ::pclose(gdb);
    }
  }
  return out;
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::seconds timeout, const std::string& input) {
  CommandResult result;
  int out_pipe[2], err_pipe[2], in_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) || ::pipe2(err_pipe, O_CLOEXEC) || ::pipe2(in_pipe, O_CLOEXEC)) return result;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ::close(in_pipe[0]);
  if (!input.empty()) {
    ssize_t ignored = ::write(in_pipe[1], input.data(), input.size());
    (void)ignored;
  }
  ::close(in_pipe[1]);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_count = 2;
  bool timed_out = false;
  while (open_count > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      } else {
        (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(got));
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  if (timed_out) {
    result.err += describe_hang(pid);
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  result.max_rss_kib = usage.ru_maxrss;
  if (timed_out) {
    result.status = -1;
  } else if (WIFEXITED(status)) {
    result.status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.status = 128 + WTERMSIG(status);
  }
  return result;
}

CommandResult run_cryo(const std::vector<std::string>& args, std::chrono::seconds timeout) {
  std::vector<std::string> argv = {CRYO_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, timeout);
}

std::string workload(const std::string& name) { return std::string(CRYO_WORKLOADS) + "/" + name; }

TempDir::TempDir() {
  char templ[] = "/tmp/cryo-e2e-XXXXXX";
  if (::mkdtemp(templ)) path_ = templ;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

OwnedPid& OwnedPid::operator=(OwnedPid&& other) noexcept {
  if (this != &other) {
    kill();
    pid_ = other.pid_;
    other.pid_ = 0;
  }
  return *this;
}

void OwnedPid::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  // Reap it if it is our child; otherwise wait for it to disappear.
  if (::waitpid(pid_, nullptr, 0) < 0) wait_for_exit(pid_);
  pid_ = 0;
}

pid_t run_detached(const std::vector<std::string>& run_args, const std::vector<std::string>& workload_argv,
                   const std::string& log_file) {
  std::vector<std::string> args = {"run", "--detach", "--log", log_file};
  args.insert(args.end(), run_args.begin(), run_args.end());
  args.push_back("--");
  args.insert(args.end(), workload_argv.begin(), workload_argv.end());
  auto result = run_cryo(args);
  pid_t pid = static_cast<pid_t>(std::atoi(result.out.c_str()));
  EXPECT_EQ(result.status, 0) << result.err;
  EXPECT_GT(pid, 0) << "cryo run --detach printed '" << result.out << "', stderr: " << result.err;
  return pid > 0 ? pid : 0;
}

bool wait_for_text(const std::string& path, const std::string& text, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (slurp(path).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

bool is_alive(pid_t pid) {
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return false;
  auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

bool wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    ::waitpid(pid, nullptr, WNOHANG);
    if (::access(("/proc/" + std::to_string(pid)).c_str(), F_OK) != 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace cryo::e2e
