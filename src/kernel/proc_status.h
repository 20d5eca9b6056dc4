// /proc/PID/status: identity, namespace PIDs, credentials, capabilities and signal masks of a task.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace cryo {

struct ProcStatus {
  std::string name;
  uint32_t umask = 0;
  char state = '?';               // First letter of "State:" (R, S, D, T, t, Z, X, ...).
  pid_t tgid = 0;
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t tracer_pid = 0;
  std::array<uint32_t, 4> uids{};  // real, effective, saved, fs
  std::array<uint32_t, 4> gids{};
  std::vector<uint32_t> groups;
  // The task's IDs in each PID namespace from the reader's /proc down to its own, outermost first.
  // An entry of 0 (NSpgid, NSsid) means the group or session leader is not visible in that namespace.
  std::vector<pid_t> ns_tgid;
  std::vector<pid_t> ns_pid;
  std::vector<pid_t> ns_pgid;
  std::vector<pid_t> ns_sid;
  uint32_t threads = 0;
  uint64_t sig_pending = 0;       // SigPnd: thread-directed.
  uint64_t shared_pending = 0;    // ShdPnd: process-directed.
  uint64_t sig_blocked = 0;
  uint64_t sig_ignored = 0;
  uint64_t sig_caught = 0;
  uint64_t cap_inheritable = 0;
  uint64_t cap_permitted = 0;
  uint64_t cap_effective = 0;
  uint64_t cap_bounding = 0;
  uint64_t cap_ambient = 0;
  bool no_new_privs = false;
  uint32_t seccomp = 0;           // 0 disabled, 1 strict, 2 filter.
  uint64_t locked_kib = 0;        // VmLck: mm->locked_vm; 0 where there is no memory (a zombie).
};

// Parses the text of /proc/PID/status. Every field above except Umask (absent for kernel threads)
// must be present.
Result<ProcStatus> parse_proc_status(std::string_view text);
// Reads and parses /proc/PID/status; a missing process is an error with err == ENOENT.
Result<ProcStatus> read_proc_status(pid_t pid);

// Whether `ancestor` is `pid` or one of its ancestors, by the PPid of each /proc/PID/status up the
// line (false once a process on it is gone).
bool in_line_of_descent(pid_t pid, pid_t ancestor);

}  // namespace cryo
