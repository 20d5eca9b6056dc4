#include "ns/clone3.h"

#include <linux/sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

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

}  // namespace cryo
