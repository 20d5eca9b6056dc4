// The kernel's special mappings that must move together, [vvar], [vvar_vclock] and [vdso] ([vsyscall]
// is fixed), as a process's /proc/PID/maps shows them.
#pragma once

#include <sys/types.h>

#include <string_view>
#include <vector>

#include "base/error.h"
#include "kernel/proc_maps.h"
#include "mm.pb.h"
#include "restore/address_plan.h"

namespace cryo::restore {

// /proc/PID/maps of a process (pid 0: cryo itself).
Result<std::vector<MapsEntry>> read_maps(pid_t pid);

std::vector<NamedRange> vdso_mappings(const std::vector<MapsEntry>& maps);
bool is_vdso_mapping_name(std::string_view name);

// The maps name of an image VMA of those kinds ("[vvar]", "[vvar_vclock]", "[vdso]"); nullptr for
// any other kind ([vsyscall] included: it is fixed, never moved).
const char* vdso_mapping_name(image::VmaKind kind);

}  // namespace cryo::restore
