#include "base/run_in_child.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/unique_fd.h"

namespace cryo {
namespace {

// A report of a failed child is quoted in the error up to this many bytes, as printable text.
constexpr size_t kQuotedReport = 64;

std::string quoted(const std::string& report) {
  std::string text;
  for (char c : report.substr(0, kQuotedReport)) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      text += c;
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      text += escaped;
    }
  }
  if (report.size() > kQuotedReport) text += "...";
  return text;
}

}  // namespace

std::string describe_child_end(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" + ::strsignal(WTERMSIG(status)) + ")";
  return "ended with wait status " + std::to_string(status);
}

void report_to_parent(int report_fd, const void* data, size_t size) {
  const char* bytes = static_cast<const char*>(data);
  for (size_t done = 0; done < size;) {
    ssize_t n = ::write(report_fd, bytes + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(1);
    done += static_cast<size_t>(n);
  }
}

Result<std::string> run_in_child(const ChildJob& job, const std::function<int(int report_fd)>& body) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(errno_error("pipe2").context(job.what));
  UniqueFd from_child(fds[0]), to_parent(fds[1]);
  pid_t child = job.fork();
  if (child < 0) return fail(errno_error(job.fork_call).context(job.what));
  if (child == 0) {
    from_child.reset();
    ::_exit(body(to_parent.get()));
  }
  to_parent.reset();
  std::string report;
  bool too_long = false;
  int read_errno = 0;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(from_child.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) read_errno = errno;
    if (n <= 0) break;
    if (report.size() + static_cast<size_t>(n) > job.max_report) {
      too_long = true;
      break;
    }
    report.append(buf, static_cast<size_t>(n));
  }
  from_child.reset();  // A child still writing gets EPIPE and ends.
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return fail(errno_error("waitpid(" + std::to_string(child) + ")").context(job.what));
  }
  std::string who = job.what + " (pid " + std::to_string(child) + ")";
  if (too_long) return fail(Error{who + ": its report is longer than " + std::to_string(job.max_report) + " bytes", EMSGSIZE, {}, 1});
  if (read_errno != 0) return fail(errno_error("read(report pipe)", read_errno).context(who));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string message = who + " " + describe_child_end(status);
    message += report.empty() ? ", without a report" : ", reporting \"" + quoted(report) + "\"";
    return fail(message);
  }
  return report;
}

}  // namespace cryo
