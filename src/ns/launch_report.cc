#include "ns/launch_report.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/file_util.h"

namespace cryo::launch_report {
namespace {

// Record layout on the intermediate's pipe: a header, then the message and the hint.
struct ReportHeader {
  int32_t kind;  // kPid or kError
  int32_t pid;
  int32_t err;
  int32_t exit_status;
  uint32_t message_size;
  uint32_t hint_size;
};
constexpr int32_t kPid = 1;
constexpr int32_t kError = 2;
// A report larger than this is not one of ours.
constexpr size_t kMaxReport = 64 * 1024;

Result<std::vector<char>> read_to_eof(int fd, const std::string& what) {
  std::vector<char> data;
  char buf[4096];
  while (true) {
    ssize_t got = ::read(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return fail(errno_error("read").context(what));
    if (got == 0) return data;
    data.insert(data.end(), buf, buf + got);
    if (data.size() > kMaxReport) return fail(what + ": report larger than " + std::to_string(kMaxReport) + " bytes");
  }
}

}  // namespace

Result<> write_init_pid(int fd, pid_t pid) {
  ReportHeader header{kPid, pid, 0, 0, 0, 0};
  return write_all(fd, &header, sizeof header, "launcher report");
}

Result<> write_error(int fd, const Error& error) {
  ReportHeader header{kError, 0, error.err, error.exit_status, static_cast<uint32_t>(error.message.size()),
                      static_cast<uint32_t>(error.hint.size())};
  std::string record(reinterpret_cast<const char*>(&header), sizeof header);
  record += error.message;
  record += error.hint;
  return write_all(fd, record.data(), record.size(), "launcher report");
}

Result<pid_t> read_init_pid(int fd, const std::string& what) {
  ASSIGN_OR_RETURN(std::vector<char> data, read_to_eof(fd, what));
  ReportHeader header;
  if (data.size() < sizeof header)
    return fail(what + " exited without reporting the namespace init (" + std::to_string(data.size()) + " bytes)");
  std::memcpy(&header, data.data(), sizeof header);
  if (header.kind == kPid && data.size() == sizeof header && header.pid > 0) return header.pid;
  if (header.kind == kError && data.size() == sizeof header + header.message_size + header.hint_size) {
    Error error;
    const char* text = data.data() + sizeof header;
    error.message.assign(text, header.message_size);
    error.hint.assign(text + header.message_size, header.hint_size);
    error.err = header.err;
    error.exit_status = header.exit_status;
    return fail(error);
  }
  return fail(what + ": malformed report (" + std::to_string(data.size()) + " bytes, kind " +
              std::to_string(header.kind) + ")");
}

const char* init_step_name(InitStep step) {
  switch (step) {
    case InitStep::kWaitForLauncher: return "wait for the launcher";
    case InitStep::kParentDeathSignal: return "prctl(PR_SET_PDEATHSIG, SIGKILL)";
    case InitStep::kMountProc: return "mount a private /proc";
    case InitStep::kSetHostname: return "sethostname";
    case InitStep::kNewSession: return "setsid";
    case InitStep::kRedirectStdio: return "dup2 of the workload's stdio";
    case InitStep::kSignalMask: return "sigprocmask";
    case InitStep::kExec: return "execvp";
  }
  return "unknown step";
}

void write_init_failure(int fd, InitStep step, int err) noexcept {
  InitFailure failure{step, err};
  // One write of 8 bytes to a pipe is atomic; if it fails there is no one left to tell.
  ssize_t ignored = ::write(fd, &failure, sizeof failure);
  (void)ignored;
}

Result<std::optional<InitFailure>> read_init_failure(int fd) {
  ASSIGN_OR_RETURN(std::vector<char> data, read_to_eof(fd, "namespace init"));
  if (data.empty()) return std::optional<InitFailure>();
  InitFailure failure;
  if (data.size() != sizeof failure)
    return fail("namespace init: malformed failure report (" + std::to_string(data.size()) + " bytes)");
  std::memcpy(&failure, data.data(), sizeof failure);
  return std::optional<InitFailure>(failure);
}

}  // namespace cryo::launch_report
