#include "ns/clone3.h"

#include <linux/sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace cryo {

pid_t clone3_fork(uint64_t flags, std::span<const pid_t> set_tid, int exit_signal) {
  clone_args args;
  std::memset(&args, 0, sizeof args);
  args.flags = flags;
  args.exit_signal = static_cast<uint64_t>(exit_signal);
  if (!set_tid.empty()) {
    args.set_tid = reinterpret_cast<uint64_t>(set_tid.data());
    args.set_tid_size = set_tid.size();
  }
  return static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
}

Result<pid_t> clone3_with_pid(pid_t pid, int exit_signal) {
  pid_t got = clone3_fork(0, std::span<const pid_t>(&pid, 1), exit_signal);
  if (got >= 0) return got;
  int err = errno;
  std::string call = "clone3(set_tid=" + std::to_string(pid) + ")";
  if (err == EEXIST)
    return fail(errno_error(call, err).context("PID " + std::to_string(pid) + " is in use"));
  return fail(errno_error(call, err));
}

}  // namespace cryo
