// The processes pidfds name (state/files/pidfd.h): collected by the PID cryo sees, turned into the
// tree's PID once every process is read.
#pragma once

#include <sys/types.h>

#include <map>

#include "base/error.h"
#include "dump/process_core.h"
#include "files.pb.h"

namespace cryo::dump {

// Turns every pidfd's PID into the tree's view. Refuses, naming the fd, a pidfd of a process outside
// the tree, of a thread other than a process's main thread, of a process that is neither the holder
// nor an ancestor or descendant of it (restore opens the pidfd while the holder is made, and only
// those exist then for sure), and one shared with another process (inherited by fork: restore opens
// a pidfd in each process). Runs once every fd of the tree is read and mark_shared_open_files has run.
Result<> translate_pidfd_targets(std::map<pid_t, image::ProcessFiles>& files, const std::map<pid_t, uint32_t>& inside,
                                 const PidTranslation& pids);

}  // namespace cryo::dump
