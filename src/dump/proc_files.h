// Files of the tree's own /proc held open (/proc/uptime, /proc/self/stat, /proc/PID/... of another
// process of the tree, /proc/sys/..., a directory fd on /proc or /proc/self/fd): recorded by what
// they name, the path inside the tree's /proc with the tree's PIDs, so that restore reopens them in
// the restored tree's /proc for the same PIDs (restore/proc_files.h). A /proc file is a view of
// kernel state, not an inode to find again: its inode numbers are new on every boot and every mount.
//
// Refused at dump, naming the fd:
// - files of another /proc (the host's, seen through a bind mount, or a second proc mount): their
//   processes are not the tree's, or reopening them at /proc would name other ones;
// - files of a process that has exited since the file was opened (reads give ESRCH; a new process
//   with that PID is another one), and of a thread other than a process's leader (restore creates
//   threads after every file is open);
// - /proc/kmsg (its readers consume the kernel log).
// nsfs files (/proc/PID/ns/*) are no /proc files: process_files.cc refuses them.
//
// Accepted, and why a reopen is the same thing: /proc files for writing (/proc/sys/..., clear_refs,
// /proc/PID/mem): a write acts when it is made, and what was written before the dump already had its
// effect (the sysctl value, the cleared bits); later writes act on the restored tree as they would
// have on the dumped one. /proc/PID/mem (read or write) names the memory of the process when it was
// opened: restore turns each placeholder into its process without exec, so the reopened file names
// the restored memory, at the same addresses.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/error.h"
#include "files.pb.h"

namespace cryo::dump {


// Fills `out` (kind FD_PROC_FILE, proc_path) for fd `fd` of host PID `pid`, whose link `link`
// (/proc/PID/fd/N) reads `target` and which lies on a proc filesystem; refuses what restore could
// not give back.
Result<> collect_proc_file(pid_t pid, int fd, const std::string& target, const std::string& link, image::Fd& out);

}  // namespace cryo::dump
