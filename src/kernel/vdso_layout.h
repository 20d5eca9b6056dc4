// The kernel's special mappings that restore must put back exactly where they were: [vvar],
// [vvar_vclock] and [vdso] (which only work at a fixed distance from each other) and [vsyscall].
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace cryo {

struct SpecialMapping {
  std::string name;  // With brackets, as /proc/PID/maps shows it: "[vdso]".
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t size() const { return end - start; }
  bool operator==(const SpecialMapping&) const = default;
};

// The vdso family's entries of /proc/PID/maps text, in address order; a line that does not parse is
// an error quoting it.
Result<std::vector<SpecialMapping>> parse_special_mappings(std::string_view maps_text);

// The same for a live process (0 for the caller).
Result<std::vector<SpecialMapping>> read_special_mappings(pid_t pid = 0);

// "[vvar] 4 pages, [vvar_vclock] 2 pages, [vdso] 2 pages, [vsyscall] 1 page".
std::string describe_special_mappings(const std::vector<SpecialMapping>& mappings);

// The mapping called `name`, or nullptr.
const SpecialMapping* find_special_mapping(const std::vector<SpecialMapping>& mappings, std::string_view name);

}  // namespace cryo
