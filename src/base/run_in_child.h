// "Fork a child, let it do one job, read its report from a pipe, reap it": for work whose effects
// must die with a process other than cryo (entering or creating a namespace, writing clock
// offsets, taking other credentials). The child's side of the protocol, what its report bytes mean,
// stays with the caller; this owns the pipe, the fork, the reading and the reaping, and says how a
// child failed when it did not end with a report.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <functional>
#include <string>

#include "base/error.h"

namespace cryo {

struct ChildJob {
  // Names the child in errors: "probe child", "pid_max reader".
  std::string what;
  // The most report bytes the parent takes; a longer report is an error with err == EMSGSIZE (the
  // parent closes the pipe, so a child still writing gets EPIPE and ends).
  size_t max_report = 4096;
  // How the child is made, with fork()'s contract (0 in the child, -1 and errno on failure), and
  // the call named when it fails. Plain fork() unless the child must start in new namespaces, which
  // only clone3 gives (ns/clone3.h).
  std::function<pid_t()> fork = [] { return ::fork(); };
  std::string fork_call = "fork";
};

// Runs `body` in a child made by `job.fork`. The body writes its report to the fd it is given
// (report_to_parent helps) and returns the child's exit status: 0 says the report is complete,
// even when what it reports is a failure of the body's own steps. Between fork and exit only
// async-signal-safe calls belong in the body when cryo may have other threads.
// Returns the report of a child that exited with 0. Any other end is an error that says how the
// child ended (its exit status or the signal that killed it) and quotes the start of its report.
Result<std::string> run_in_child(const ChildJob& job, const std::function<int(int report_fd)>& body);

// For the child: writes all `size` bytes to the report pipe, retrying on EINTR. A parent that
// stopped reading already has its answer, so the child then just exits (with status 1).
// Async-signal-safe.
void report_to_parent(int report_fd, const void* data, size_t size);

// How a child ended, from its wait status: "exited with status 2", "was killed by signal 9 (Killed)".
std::string describe_child_end(int status);

}  // namespace cryo
