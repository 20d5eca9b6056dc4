// /proc/PID/numa_maps: one line per mapping, its start address and its NUMA memory policy, then
// page counts per node. A mapping without a policy of its own (mbind) shows the policy of the task
// whose numa_maps is read ("default" unless set_mempolicy or numactl set one). Reading it walks the
// mapping's page tables, as smaps does.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace cryo {

struct MappingPolicy {
  uint64_t start = 0;
  std::string policy;  // As the kernel writes it: "default", "bind:0", "interleave=static:0-1" ...
};

Result<std::vector<MappingPolicy>> parse_numa_maps(std::string_view text);
// The same of a live process; none on a kernel without NUMA (no numa_maps).
Result<std::vector<MappingPolicy>> read_numa_maps(pid_t pid);

// A mapping whose policy is not the one most mappings show (the task's): one set with mbind. A
// mapping given exactly the task's policy is not told apart (nor does it behave otherwise while
// every thread keeps that policy).
std::optional<MappingPolicy> mapping_with_a_policy_of_its_own(const std::vector<MappingPolicy>& mappings);

}  // namespace cryo
