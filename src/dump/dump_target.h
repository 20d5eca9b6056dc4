// Which tree a dump is about: the host PID of a PID-namespace init, checked before anything is touched.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/error.h"

namespace cryo::dump {

struct DumpTarget {
  pid_t init = 0;            // Host PID of the tree's init.
  size_t ns_level = 0;       // Index of the tree's namespace in every member's NSpid list.
  uint64_t pidns_inode = 0;  // Identifies the tree's PID namespace (for the dump lock).
};

// Refuses a PID that does not exist, is not a process, is not the init (PID 1) of a PID namespace
// of its own, or has exited. (Tracers are the preflight check's, after the dump lock is taken.)
Result<DumpTarget> find_dump_target(pid_t pid);

// The inode of /proc/PID/ns/NAME ("pid", "mnt", "time", ...): equal inodes mean the same namespace.
Result<uint64_t> namespace_inode(pid_t pid, const char* name);

// Every process on the host whose PID namespace is the one with this inode (a scan of /proc). A
// process that joined the namespace with setns is a member without being the init's descendant.
Result<std::vector<pid_t>> processes_in_pid_namespace(uint64_t pidns_inode);

}  // namespace cryo::dump
