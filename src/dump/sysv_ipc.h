// System V IPC objects (shared memory, semaphore sets, message queues) of a tree that has its own
// IPC namespace. cryo cannot dump them yet, and a restore recreates an empty IPC namespace, so a
// tree whose namespace holds any is refused, naming them. (A mapped SysV segment is also refused by
// the memory map, for trees that share the host's namespace.)
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace cryo::dump {

struct SysvObject {
  std::string kind;  // "shared memory segment", "semaphore set", "message queue"
  int64_t key = 0;
  int64_t id = 0;
};

// The objects listed in the text of one /proc/sysvipc file (a header line, then one per line).
Result<std::vector<SysvObject>> parse_sysvipc(std::string_view text, const std::string& kind);

// Fails naming every SysV object in the IPC namespace of `pid`.
Result<> refuse_sysv_objects(pid_t pid);

}  // namespace cryo::dump
