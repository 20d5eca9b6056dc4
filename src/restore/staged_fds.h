// Pipes are recreated once, before the tree's init is cloned, with their buffered bytes written back.
// Both ends then sit at high fd numbers that every placeholder inherits; each placeholder moves the
// ends it had to their numbers and closes the rest, so a pipe connects the same processes again.
#pragma once

#include <cstdint>
#include <map>

#include "base/error.h"
#include "pipes.pb.h"
#include "restore/image_set.h"

namespace cryo::restore {

struct StagedPipe {
  int read_fd = -1;
  int write_fd = -1;
};

// The lowest fd number above every fd number of the image: where cryo's own inherited fds go.
int staging_fd_base(const ImageSet& set);

// Creates every pipe of `pipes` at fd numbers >= min_fd, with its capacity and buffered bytes. For use
// in the single-threaded helper that then clones the tree; the fds are not close-on-exec.
Result<std::map<uint64_t, StagedPipe>> stage_pipes(const image::Pipes& pipes, int min_fd);

}  // namespace cryo::restore
