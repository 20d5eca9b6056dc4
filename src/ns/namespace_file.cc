#include "ns/namespace_file.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>

#include "base/run_in_child.h"
#include "base/unique_fd.h"

namespace cryo {
namespace {

// What the child reports first: '=' then the content, or '!' and the errno of the step that failed.
constexpr char kContent = '=';
constexpr char kFailed = '!';
enum FailedStep : char { kSetns = 's', kOpen = 'o', kRead = 'r' };

// A failure of one of the child's steps is still a complete report, so the child exits with 0.
[[noreturn]] void report_failure(int out, FailedStep step) {
  char report[3] = {kFailed, static_cast<char>(step), static_cast<char>(errno)};
  report_to_parent(out, report, sizeof report);
  ::_exit(0);
}

// Only async-signal-safe calls between fork and _exit.
int read_in_child(int ns, int nstype, const char* path, int out) {
  if (::setns(ns, nstype) != 0) report_failure(out, kSetns);
  int file = ::open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (file < 0) report_failure(out, kOpen);
  char marker = kContent;
  report_to_parent(out, &marker, 1);
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(file, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) report_failure(out, kRead);
    if (n == 0) break;
    report_to_parent(out, buf, static_cast<size_t>(n));
  }
  return 0;
}

}  // namespace

Result<std::string> read_file_in_namespace_of(pid_t pid, const char* ns_name, int nstype, const char* path,
                                              size_t max_bytes) {
  std::string ns_path = "/proc/" + std::to_string(pid) + "/ns/" + ns_name;
  UniqueFd ns(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return fail_errno("open(" + ns_path + ")");
  std::string what = std::string(path) + " in the " + ns_name + " namespace of pid " + std::to_string(pid);
  // One more byte than the content: the marker that starts every report.
  auto report = run_in_child({.what = "child", .max_report = max_bytes + 1},
                             [&](int out) { return read_in_child(ns.get(), nstype, path, out); });
  if (!report && report.error().err == EMSGSIZE)
    return fail("reading " + what + ": longer than " + std::to_string(max_bytes) + " bytes");
  if (!report) return fail(report.error().context("reading " + what));
  const std::string& answer = *report;
  if (answer.size() == 3 && answer[0] == kFailed) {
    std::string call = answer[1] == kSetns ? "setns(" + ns_path + ")" : std::string(answer[1] == kOpen ? "open(" : "read(") + path + ")";
    return fail(errno_error(call, answer[2]).context("reading " + what));
  }
  if (answer.empty() || answer[0] != kContent) return fail("reading " + what + " failed");
  return answer.substr(1);
}

}  // namespace cryo
