// Working as a process in another namespace does. Some /proc files show the state of the reader's
// namespace, not of the process they are named after: /proc/sys/kernel/hostname (UTS),
// /proc/sysvipc/* and the IPC sysctls (IPC), and SysV objects are found by id in the caller's IPC
// namespace. A short-lived thread joins the namespace of `pid`, does the work and ends, so the rest
// of cryo never leaves its own namespaces. A thread, not a forked child: a dump reads some fifteen
// such files while the tree is frozen, and a fork of cryo costs about 0.8 ms where a thread costs
// tens of microseconds.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "base/error.h"

namespace cryo {

// Runs `work` on a new thread that has joined the namespace of `pid`. `ns_name` is the entry of
// /proc/PID/ns ("uts", "ipc", "net"), `nstype` its CLONE_NEW* flag: only namespaces a single thread
// may join (IPC, UTS, network). `what` names the work in the errors of joining; those of `work`
// are its own.
Result<> run_in_namespace_of(pid_t pid, const char* ns_name, int nstype, const std::string& what,
                             const std::function<Result<>()>& work);

// Reads `path` in the namespace of `pid` (as run_in_namespace_of), up to `max_bytes`; longer
// content is an error.
Result<std::string> read_file_in_namespace_of(pid_t pid, const char* ns_name, int nstype, const char* path,
                                              size_t max_bytes = 1 << 20);

}  // namespace cryo
