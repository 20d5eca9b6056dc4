// /proc/PID/timers: the POSIX timers (timer_create) of a process, without their times, which only
// timer_gettime in the process itself can tell.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace cryo {

struct ProcTimer {
  int id = -1;
  int signo = 0;
  uint64_t sigval = 0;       // sigev_value, as the kernel shows it (hex).
  int notify = 0;            // SIGEV_SIGNAL, SIGEV_NONE or SIGEV_THREAD, plus SIGEV_THREAD_ID.
  pid_t notify_pid = 0;      // Process or (SIGEV_THREAD_ID) thread to signal, in the reader's namespace.
  int clock_id = 0;
};

// Parses the file's text: blocks of "ID:", "signal: SIGNO/SIGVAL", "notify: KIND/pid.N" or
// "notify: KIND/tid.N", and "ClockID:".
Result<std::vector<ProcTimer>> parse_proc_timers(std::string_view text);
Result<std::vector<ProcTimer>> read_proc_timers(pid_t pid);

}  // namespace cryo
