// Files of the tree's own /proc held open (FD_PROC_FILE: /proc/uptime, /proc/self/stat,
// /proc/PID/... of another process of the tree, /proc/sys/..., a directory fd on /proc or
// /proc/self/fd), recorded by what they name: the path inside the tree's /proc with the tree's PIDs.
// A /proc file is a view of kernel state, not an inode to find again: its inode numbers are new on
// every boot and every mount.
//
// Dump: refused, naming the fd:
// - files of another /proc (the host's, seen through a bind mount, or a second proc mount): their
//   processes are not the tree's, or reopening them at /proc would name other ones;
// - files of a process that has exited since the file was opened (reads give ESRCH; a new process
//   with that PID is another one), and of a thread other than a process's leader (restore creates
//   threads after every file is open);
// - /proc/kmsg (its readers consume the kernel log).
// nsfs files (/proc/PID/ns/*) are no /proc files: namespace_file.h takes them.
// Accepted, and why a reopen is the same thing: /proc files for writing (/proc/sys/..., clear_refs,
// /proc/PID/mem): a write acts when it is made, and what was written before the dump already had its
// effect (the sysctl value, the cleared bits); later writes act on the restored tree as they would
// have on the dumped one. /proc/PID/mem (read or write) names the memory of the process when it was
// opened: restore turns each placeholder into its process without exec, so the reopened file names
// the restored memory, at the same addresses.
//
// Restore: each placeholder opens its /proc files at their path in the restored tree's /proc (the
// init mounted it for the new PID namespace) with their flags, once the process they name exists;
// every process has its old PID, so /proc/42/stat names the same process again. The position is set
// last, by an lseek injected into the restored process just before it is released
// (proc_file_position.cc): a seq file regenerates its text when it is positioned, and the text
// should be the restored process's, not the placeholder's.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "files.pb.h"
#include "image/image_set.h"
#include "ptrace/remote_task.h"
#include "state/files/fd_kinds.h"

namespace cryo::state {

// Fills the kind (FD_PROC_FILE) and proc_path of an fd on a proc filesystem; refuses what restore
// could not give back.
Result<> collect_proc_file(const FdCollect& in, image::Fd& out);

// Across the image: every /proc file names a clean path inside /proc (no "..", no absolute path), of
// a process of the tree, that a dump accepts (proc_file_validation.cc).
void validate_proc_files(const ImageSet& set, std::vector<std::string>* problems);

// Opens the fd in the caller's /proc (a placeholder's: the tree's), at position 0. Waits up to 10 s
// for the process it names to be created (a placeholder may open a file of one created after it).
// Returns the new fd, at the lowest free number.
Result<int> open_proc_file(const image::Fd& fd);

// The fd of `at.process` (a placeholder, the caller) as its open file should be, for the kinds
// reopened by what they name in the tree's /proc (/proc files, namespace files), where no earlier fd
// of its own shares it (those the placeholder dups, FdSharing::WithinProcess): a copy (pidfd_getfd)
// of the fd of the first live process of the image that holds it, once that process has opened it
// (a fork or SCM_RIGHTS shared it); or else opened by `open`.
Result<int> place_by_name(const image::Fd& fd, const FdInstall& at, Result<int> (*open)(const image::Fd&));

// The install step: place_by_name with open_proc_file.
Result<int> install_proc_file(const image::Fd& fd, const FdInstall& at);

// Puts every /proc file of the process at its position (injected lseek; proc_file_position.cc).
Result<> restore_proc_file_positions(RemoteTask& task, const ProcessImage& process);

}  // namespace cryo::state
