// Reading a file as a process in another namespace sees it. Some /proc files show the state of the
// reader's namespace, not of the process they are named after: /proc/sys/kernel/hostname (UTS),
// /proc/sysvipc/* (IPC). A forked child joins the namespace of `pid`, reads the file and reports it
// through a pipe, so cryo itself never leaves its own namespaces.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/error.h"

namespace cryo {

// `ns_name` is the entry of /proc/PID/ns ("uts", "ipc"), `nstype` its CLONE_NEW* flag. The file is
// read up to `max_bytes`; longer content is an error.
Result<std::string> read_file_in_namespace_of(pid_t pid, const char* ns_name, int nstype, const char* path,
                                              size_t max_bytes = 1 << 20);

}  // namespace cryo
