// RLIMIT_NOFILE of cryo itself: how many files it may hold open at once.
#pragma once

#include <cstdint>

#include "base/error.h"

namespace cryo {

// Raises this process's open-file limit as far as the kernel lets it, and returns the soft limit
// now in effect. Root with CAP_SYS_RESOURCE may raise both limits up to fs.nr_open; without it only
// the soft limit, up to the hard one. Dump and restore both call it, so that a dump can tell whether
// a restore by the same cryo on this host could hold what the tree needs.
Result<uint64_t> raise_open_file_limit_to_most();

}  // namespace cryo
