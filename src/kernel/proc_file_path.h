// A path inside a /proc mount, as a dump records the files of the tree's own /proc ("uptime",
// "42/stat", "42/task/42/status", "sys/kernel/hostname", "" for /proc itself), split into the
// process it names, if any, and the rest. Pure: dump and restore's validation share it, so a path
// a dump could not have written is refused the same way everywhere.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace cryo {

// The kernel's PID_MAX_LIMIT on 64-bit: no PID is above it.
constexpr uint32_t kProcPidLimit = 4194304;

struct ProcFilePath {
  uint32_t pid = 0;   // /proc/PID/...: the process, by its PID in the /proc's namespace; 0 for global files.
  uint32_t tid = 0;   // /proc/PID/task/TID/...: the thread; 0 when the path does not go through task/TID.
  std::string rest;   // What follows /proc/PID (or /proc/PID/task/TID), or the whole path of a global file.
};

// Splits `path` (relative to /proc, no leading '/'). Refuses what no dump records: empty, "." or
// ".." components, NUL bytes, paths over 4096 bytes, "self" and "thread-self" (a dump records the
// PID they resolved to), and PIDs that are 0, have leading zeros or exceed kProcPidLimit.
Result<ProcFilePath> parse_proc_file_path(std::string_view path);

// Why reopening this file by its path would not give back what the process had, or "" when it
// would: /proc/kmsg (each read consumes the kernel log: a new reader starts elsewhere in it).
std::string unreopenable_proc_file(const ProcFilePath& path);

}  // namespace cryo
