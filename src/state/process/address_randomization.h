// Address-space randomisation of a tree: the PF_RANDOMIZE flag of each process. Only exec sets or
// clears it (from the ADDR_NO_RANDOMIZE personality and kernel.randomize_va_space), and with it the
// mm's mmap_base, below which the process's next mappings land. A restored process is a fork of
// cryo-core, so cryo-core must itself have been exec'd the way the tree's processes were: restore
// execs it again when it was not. A tree that mixes both ways cannot be given back, and is refused.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "inventory.pb.h"

namespace cryo {

// Dump. One live process of the tree: its host PID, how to name it in an error, its stat flags.
struct RandomizationOf {
  pid_t pid = 0;
  std::string name;
  uint32_t stat_flags = 0;
};
// Whether every process runs without randomisation (false for an empty list); a tree with processes
// of both ways is refused, naming one of each.
Result<bool> tree_randomization_off(const std::vector<RandomizationOf>& processes);

// Restore, before anything is created: when the image in `dir` was dumped the other way from how
// cryo-core runs, exec cryo-core again (same arguments) with ADDR_NO_RANDOMIZE set or cleared; it
// does not return then. An image it cannot read is left to the full read to report.
Result<> exec_again_for_address_randomization(const std::string& dir);
// After the image is read and verified: cryo-core's own randomisation must be the image's, or the
// restored processes would not be as they were (an error, with the host setting to change).
Result<> check_address_randomization(const image::Inventory& inventory);

}  // namespace cryo
