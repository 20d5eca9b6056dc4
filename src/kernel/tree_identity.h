// What identifies a running process tree on this host across time: the boot, the PID namespace and
// the init's start time (a PID, or even a namespace inode, may be reused after the tree is gone;
// the three together are not).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "base/error.h"

namespace cryo {

struct TreeIdentityFacts {
  std::string boot_id;
  uint64_t pidns_inode = 0;
  uint64_t init_start_time = 0;

  bool operator==(const TreeIdentityFacts&) const = default;
};

// /proc/sys/kernel/random/boot_id, without its newline.
Result<std::string> read_boot_id();

// The identity of the tree whose init is host PID `init` now (ESRCH/ENOENT when it is gone or a zombie).
Result<TreeIdentityFacts> read_tree_identity(pid_t init);

// Field 22 (starttime) of a /proc/PID/stat line; nullopt-like 0 when malformed.
uint64_t parse_start_time(const std::string& stat_line);

}  // namespace cryo
