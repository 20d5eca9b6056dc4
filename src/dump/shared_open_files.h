// Finds fds that share one open file description (made by dup, fork or SCM_RIGHTS), within one
// process or across the tree, so restore can make them share one again: they share the position
// and the status flags, and a restore that opened the file twice would split them.
#pragma once

#include <sys/types.h>

#include <map>

#include "base/error.h"
#include "files.pb.h"

namespace cryo::dump {

// Sets Fd.open_file_id on every non-pipe fd whose open file another fd of the tree holds too (the
// same non-zero id for each holder, unique in the image); leaves 0 on the others. `files` maps host
// PIDs to their collected fds; the processes must still be alive (frozen). Pipes are tied together
// by their pipe id instead. Sorts the fds of one inode with kcmp(KCMP_FILE) as the comparator.
Result<> mark_shared_open_files(std::map<pid_t, image::ProcessFiles>& files);

}  // namespace cryo::dump
