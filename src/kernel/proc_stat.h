// /proc/PID/stat: the process-group, session and mm fields that no other /proc file offers.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace cryo {

// Fields are named as in proc(5); the number is the 1-based field index there.
struct ProcStat {
  pid_t pid = 0;                // 1
  std::string comm;             // 2, without the parentheses
  char state = '?';             // 3
  pid_t ppid = 0;               // 4
  pid_t pgrp = 0;               // 5, in the reader's PID namespace (0 when not visible there)
  pid_t session = 0;            // 6, likewise
  uint32_t flags = 0;           // 9, the task's PF_* flags
  uint32_t num_threads = 0;     // 20
  uint64_t start_code = 0;      // 26
  uint64_t end_code = 0;        // 27
  uint64_t start_stack = 0;     // 28
  int32_t exit_signal = 0;      // 38
  int32_t processor = -1;       // 39, the CPU it last ran on
  uint64_t start_data = 0;      // 45
  uint64_t end_data = 0;        // 46
  uint64_t start_brk = 0;       // 47
  uint64_t arg_start = 0;       // 48
  uint64_t arg_end = 0;         // 49
  uint64_t env_start = 0;       // 50
  uint64_t env_end = 0;         // 51
  int32_t exit_code = 0;        // 52, the wait status a zombie leaves for its parent
};

// PF_RANDOMIZE in stat's flags: the process was exec'd with address-space randomisation (no
// ADDR_NO_RANDOMIZE personality, kernel.randomize_va_space not 0). Only exec sets or clears it.
constexpr uint32_t kPfRandomize = 0x00400000;

// Parses the one line of /proc/PID/stat. The comm field may hold spaces and parentheses, so it runs
// from the first '(' to the last ')'.
Result<ProcStat> parse_proc_stat(std::string_view text);
Result<ProcStat> read_proc_stat(pid_t pid);

}  // namespace cryo
