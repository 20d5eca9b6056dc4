// How many files cryo holds open at once while it restores a tree, checked by both stages: restore
// before it creates anything, and dump before it ends the tree, so that an image that this host's
// cryo could not restore is refused while the tree still runs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>

#include "base/error.h"
#include "files.pb.h"

namespace cryo::image {

// The lowest fd number above every fd of the tree (and above 0, 1 and 2), where restore's helper
// stages its fds: `files_of` gives the ProcessFiles of each element of `processes`. Dump and
// restore each hold the tree's files in a container of their own.
template <typename Processes, typename FilesOf>
int staging_fd_base(const Processes& processes, FilesOf files_of) {
  int highest = 2;
  for (const auto& process : processes)
    for (const auto& fd : files_of(process).fds()) highest = std::max(highest, fd.fd());
  return highest + 1;
}

// Restore's helper holds every staged fd above the tree's highest fd number (`fd_base` is that
// number plus one): one per memory object, plus cryo's own few. Its pipes, sockets and shared open
// files add one each, which this count leaves out; a restore that runs out of fds for them fails
// with EMFILE before the tree is created.
uint64_t open_files_restore_needs(int fd_base, uint64_t memory_objects);

// Raises cryo's open-file limit as far as it may (kernel/open_file_limit.h) and fails, saying
// what to do, when the tree needs more. `then` ends the advice: "restore again", "dump again".
Result<> check_open_files_for_restore(int fd_base, uint64_t memory_objects, std::string_view then);

}  // namespace cryo::image
