// Shared by the checkpoint/restore end-to-end tests: start a workload (tests/workloads/cr_*.c)
// under `cryo run`, wait for its READY line, dump, restore, ask it to check itself (SIGUSR1) and
// read its verdict from the log. A CheckpointSession owns one temporary directory and every
// process a test starts; when it dies it kills them, and fails the test if any process whose
// command line mentions its directory is still there (restored processes keep their command
// line, and restore placeholders carry the image directory in theirs).
#pragma once

#include <stdlib.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "e2e/harness.h"

namespace cryo::e2e {

// What a workload said about itself.
struct Verdict {
  bool exited = false;  // the init exited within the timeout
  bool passed = false;  // its log has a "PASS" line and no "FAIL" line
  int ready_lines = 0;  // more than one means the workload started again instead of continuing
  std::string log;
};

class CheckpointSession {
 public:
  CheckpointSession();
  ~CheckpointSession();
  CheckpointSession(const CheckpointSession&) = delete;
  CheckpointSession& operator=(const CheckpointSession&) = delete;

  const TempDir& dir() const { return tmp_; }
  std::string log_path() const { return tmp_ / "workload.log"; }
  std::string image_path(const std::string& name = "image") const { return tmp_ / name; }

  // `cryo run --detach --log <log> [run_args] -- <workload> [args] --tag=<dir>`, then waits for
  // the READY line. Returns the init's host PID (owned by the session), or 0 after failing the test.
  pid_t start(const std::string& workload_name, const std::vector<std::string>& args = {},
              const std::vector<std::string>& run_args = {});

  // The same for any command (a program from a Debian package): `cryo run --detach --log <log>
  // [run_args] -- argv`. Put the session's directory in argv (a script path in it, say) so that
  // leftover processes are found.
  pid_t start_command(const std::vector<std::string>& argv, const std::vector<std::string>& run_args = {});

  // `cryo dump -t init -D image [extra]`.
  CommandResult dump(pid_t init, const std::string& image, const std::vector<std::string>& extra = {});

  // Dumps and expects success: status 0, an inventory in the image, and (without
  // --leave-running) the tree gone. Returns false after failing the test. `result`, if given,
  // receives the command's result.
  bool dump_ok(pid_t init, const std::string& image, const std::vector<std::string>& extra = {}, CommandResult* result = nullptr);

  // `cryo restore -D image --detach [extra]`.
  CommandResult restore(const std::string& image, const std::vector<std::string>& extra = {});

  // Restores and expects a host PID on stdout; returns it (owned by the session), or 0 after
  // failing the test. `result`, if given, receives the command's result.
  pid_t restore_ok(const std::string& image, const std::vector<std::string>& extra = {}, CommandResult* result = nullptr);

  // Sends the check signal to the tree's init.
  void request_check(pid_t init);

  // Waits for the init to exit (a workload exits right after its verdict) and reads the log.
  Verdict wait_for_verdict(pid_t init, std::chrono::milliseconds timeout = std::chrono::milliseconds(20000));

  // request_check + wait_for_verdict, expecting PASS from a workload that started exactly once.
  void expect_pass_after_check(pid_t init);

  // The whole round: start the workload (with `cryo run` options `run_args`), dump it (which ends
  // it), restore it with `restore_extra`, and expect its own check to pass.
  void expect_round_trip_passes(const std::string& workload_name, const std::vector<std::string>& args = {},
                                const std::vector<std::string>& restore_extra = {},
                                const std::vector<std::string>& run_args = {});

  // Processes still alive whose command line mentions this session's directory.
  std::vector<pid_t> leftover_processes() const;

  // Fails the test if leftover processes remain after a short grace period (a namespace's other
  // processes die just after its init).
  void expect_nothing_left_running();

  // Takes responsibility for killing `pid`.
  void own(pid_t pid);

  // Gives up responsibility for `pid` once it has exited (its PID may be reused).
  void disown_exited(pid_t pid);

 private:

  TempDir tmp_;
  std::vector<OwnedPid> owned_;
};

// Host PIDs of the direct children of `pid`.
std::vector<pid_t> children_of(pid_t pid);

// Runs cryo with `args` without CAP_SYS_RESOURCE (which this machine kind lacks anyway) under an
// open-file limit of `nofile`, soft and hard, which cryo then cannot raise.
CommandResult cryo_under_open_file_limit(int nofile, const std::vector<std::string>& args);

// cryo_under_open_file_limit with `restore -D image --detach`.
CommandResult restore_under_open_file_limit(const std::string& image, int nofile);

// Sets an environment variable (one of cryo's hidden test switches, say) for the commands the test
// runs while it lives; they inherit it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) { ::setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { ::unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

// Expects a failed cryo command: non-zero exit, exactly one line "cryo: error: ..." on stderr
// that contains `must_mention`.
void expect_one_clear_error(const CommandResult& result, const std::string& must_mention);

// A dump of `init`, plain and with --leave-running, refuses with one clear line mentioning
// `must_mention` and "which cryo cannot dump", leaves no image, and leaves the tree running.
void expect_dump_refused(CheckpointSession& session, pid_t init, const std::string& must_mention);

// The PID methods restore offers; tests that create processes run with each.
std::vector<std::string> pid_methods();

}  // namespace cryo::e2e
