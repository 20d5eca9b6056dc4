#include "ns/namespace_file.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "base/unique_fd.h"

namespace cryo {
namespace {

// What the child reports first: '=' then the content, or '!' and the errno of the step that failed.
constexpr char kContent = '=';
constexpr char kFailed = '!';
enum FailedStep : char { kSetns = 's', kOpen = 'o', kRead = 'r' };

[[noreturn]] void report_failure(int out, FailedStep step) {
  char report[3] = {kFailed, static_cast<char>(step), static_cast<char>(errno)};
  (void)!::write(out, report, sizeof report);
  ::_exit(1);
}

// Only async-signal-safe calls between fork and _exit.
[[noreturn]] void read_in_child(int ns, int nstype, const char* path, int out) {
  if (::setns(ns, nstype) != 0) report_failure(out, kSetns);
  int file = ::open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (file < 0) report_failure(out, kOpen);
  char marker = kContent;
  (void)!::write(out, &marker, 1);
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(file, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) report_failure(out, kRead);
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out, buf + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) ::_exit(1);  // cryo stopped listening.
      done += w;
    }
  }
  ::_exit(0);
}

}  // namespace

Result<std::string> read_file_in_namespace_of(pid_t pid, const char* ns_name, int nstype, const char* path,
                                              size_t max_bytes) {
  std::string ns_path = "/proc/" + std::to_string(pid) + "/ns/" + ns_name;
  UniqueFd ns(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return fail_errno("open(" + ns_path + ")");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail_errno("pipe2");
  UniqueFd from_child(fds[0]), to_parent(fds[1]);
  pid_t child = ::fork();
  if (child < 0) return fail_errno("fork");
  if (child == 0) read_in_child(ns.get(), nstype, path, to_parent.get());
  to_parent.reset();
  std::string answer;
  bool too_long = false;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(from_child.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (answer.size() + static_cast<size_t>(n) > max_bytes + 1) {
      too_long = true;
      break;
    }
    answer.append(buf, static_cast<size_t>(n));
  }
  from_child.reset();  // A child still writing gets EPIPE and exits.
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  std::string what = std::string(path) + " in the " + ns_name + " namespace of pid " + std::to_string(pid);
  if (too_long) return fail("reading " + what + ": longer than " + std::to_string(max_bytes) + " bytes");
  if (answer.size() == 3 && answer[0] == kFailed) {
    std::string call = answer[1] == kSetns ? "setns(" + ns_path + ")" : std::string(answer[1] == kOpen ? "open(" : "read(") + path + ")";
    return fail(errno_error(call, answer[2]).context("reading " + what));
  }
  if (answer.empty() || answer[0] != kContent || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fail("reading " + what + " failed");
  return answer.substr(1);
}

}  // namespace cryo
