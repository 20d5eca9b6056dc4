// Restore half of file locks (kernel/file_locks.h): each process takes its locks again.
#pragma once

#include "base/error.h"
#include "files.pb.h"
#include "image/image_set.h"
#include "ptrace/remote_task.h"

namespace cryo::restore {

// Takes every lock of the process's fds by injected fcntl/flock, without waiting: a lock another
// process holds now is an error naming it. Runs after memory is restored and cryo's own fds are
// closed, since closing any fd of a file drops the process's POSIX locks on it.
Result<> take_file_locks(RemoteTask& task, const ProcessImage& process);

}  // namespace cryo::restore
