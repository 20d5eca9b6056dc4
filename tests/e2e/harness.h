// Shared by the end-to-end tests: run the real cryo binary, start workloads, and clean up every
// process and directory a test created (by PID, never by name).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace cryo::e2e {

struct CommandResult {
  int status = -1;   // Exit status, or 128+N when killed by signal N, or -1 on timeout.
  std::string out;
  std::string err;
  long max_rss_kib = 0;  // The command's peak resident memory (ru_maxrss, its reaped children included).
};

// Runs argv[0] with args, stdin from /dev/null unless `input` is given, capturing stdout and stderr.
// Kills it (SIGKILL, by PID) after `timeout`.
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::seconds timeout = std::chrono::seconds(60),
                          const std::string& input = "");

// Runs the cryo binary under test with the given arguments.
CommandResult run_cryo(const std::vector<std::string>& args, std::chrono::seconds timeout = std::chrono::seconds(60));

// Path of a workload built from tests/workloads/NAME.c.
std::string workload(const std::string& name);

// A private temporary directory, removed with everything in it when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A host PID this test is responsible for: SIGKILLed and reaped (if a child) when the object dies.
class OwnedPid {
 public:
  OwnedPid() = default;
  explicit OwnedPid(pid_t pid) : pid_(pid) {}
  ~OwnedPid() { kill(); }
  OwnedPid(const OwnedPid&) = delete;
  OwnedPid& operator=(const OwnedPid&) = delete;
  OwnedPid(OwnedPid&& other) noexcept : pid_(other.pid_) { other.pid_ = 0; }
  OwnedPid& operator=(OwnedPid&& other) noexcept;
  pid_t get() const { return pid_; }
  void kill();
  void forget() { pid_ = 0; }

 private:
  pid_t pid_ = 0;
};

// Starts `cryo run --detach [run_args] -- workload_argv` and returns the host PID of the tree's init.
// Fails the current test (and returns 0) when cryo does not print a PID.
pid_t run_detached(const std::vector<std::string>& run_args, const std::vector<std::string>& workload_argv,
                   const std::string& log_file);

// Waits until `path` contains `text`; returns false on timeout.
bool wait_for_text(const std::string& path, const std::string& text,
                   std::chrono::milliseconds timeout = std::chrono::milliseconds(20000));

// Waits until the process is gone (not even a zombie we could reap); returns false on timeout.
bool wait_for_exit(pid_t pid, std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

// True while /proc/PID exists and is not a zombie.
bool is_alive(pid_t pid);

// Reads a whole file, "" when it cannot be read.
std::string slurp(const std::string& path);

}  // namespace cryo::e2e
