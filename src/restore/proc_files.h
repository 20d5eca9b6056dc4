// Files of the tree's own /proc (dump/proc_files.h), reopened by what they name: each placeholder
// opens its /proc files at their path in the restored tree's /proc (the init mounted it for the new
// PID namespace) with their flags, once the process they name exists; every process has its old
// PID, so /proc/42/stat names the same process again. The position is set last, by an lseek
// injected into the restored process just before it is released: a seq file regenerates its text
// when it is positioned, and the text should be the restored process's, not the placeholder's.
#pragma once

#include "base/error.h"
#include "files.pb.h"
#include "image/image_set.h"
#include "ptrace/remote_task.h"

namespace cryo::restore {

// Opens an FD_PROC_FILE fd in the caller's /proc (a placeholder's: the tree's), at position 0.
// Waits up to 10 s for the process it names to be created (a placeholder may open a file of one
// created after it). Returns the new fd, at the lowest free number.
Result<int> open_proc_file(const image::Fd& fd);

// The number of an earlier fd of `process` of the same kind, FD_PROC_FILE or FD_NAMESPACE, that
// shares `fd`'s open file (dup), or -1.
// Placeholders open the fds in image order, so that fd is in place already.
int proc_file_opened_before(const ProcessImage& process, const image::Fd& fd);

// The fd of `process` (a placeholder, the caller) as its open file should be: a dup of an earlier fd
// of its own that shares it; a copy (pidfd_getfd) of the fd of the first live process of the image
// that holds it, once that process has opened it (a fork or SCM_RIGHTS shared it); or else opened.
// For FD_PROC_FILE fds and FD_NAMESPACE ones (namespace_files.h), which are opened the same way, by
// what they name in the tree's /proc.
Result<int> place_proc_file(const ImageSet& set, const ProcessImage& process, const image::Fd& fd);

// Puts every /proc file of the process at its position (injected lseek).
Result<> restore_proc_file_positions(RemoteTask& task, const ProcessImage& process);

}  // namespace cryo::restore
