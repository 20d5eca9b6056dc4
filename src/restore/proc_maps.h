// /proc/PID/maps, parsed: what a placeholder has mapped before it is emptied, and this host's vdso layout.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "restore/address_plan.h"

namespace cryo::restore {

struct MapsEntry {
  uint64_t start = 0;
  uint64_t end = 0;
  std::string perms;  // "r-xp"
  uint64_t offset = 0;
  uint64_t inode = 0;
  std::string path;   // File path, "[vdso]", "[stack]", or empty for anonymous memory.
};

Result<std::vector<MapsEntry>> parse_maps(std::string_view text);
Result<std::vector<MapsEntry>> read_maps(pid_t pid);  // pid 0: the caller.

// The kernel's special mappings that must move together: [vvar], [vvar_vclock], [vdso] (not [vsyscall],
// which is fixed).
std::vector<NamedRange> vdso_mappings(const std::vector<MapsEntry>& maps);
bool is_vdso_mapping_name(std::string_view name);

}  // namespace cryo::restore
