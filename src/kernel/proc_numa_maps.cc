#include "kernel/proc_numa_maps.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <map>

#include "base/file_util.h"
#include "kernel/proc_text.h"

namespace cryo {

Result<std::vector<MappingPolicy>> parse_numa_maps(std::string_view text) {
  std::vector<MappingPolicy> mappings;
  for (std::string_view line : proc_text::lines(text)) {
    if (line.empty()) continue;
    size_t space = line.find(' ');
    uint64_t start = 0;
    auto [end, ec] = std::from_chars(line.data(), line.data() + (space == std::string_view::npos ? line.size() : space), start, 16);
    if (space == std::string_view::npos || ec != std::errc() || end != line.data() + space)
      return fail("numa_maps line '" + std::string(line) + "' does not start with an address and a policy");
    std::string_view rest = line.substr(space + 1);
    mappings.push_back({start, std::string(rest.substr(0, rest.find(' ')))});
  }
  return mappings;
}

Result<std::vector<MappingPolicy>> read_numa_maps(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/numa_maps");
  if (!text && text.error().err == ENOENT && ::access("/proc/self/numa_maps", F_OK) != 0) return std::vector<MappingPolicy>{};
  if (!text) return fail(text.error());
  auto mappings = parse_numa_maps(*text);
  if (!mappings) return fail(mappings.error().context("pid " + std::to_string(pid)));
  return mappings;
}

std::optional<MappingPolicy> mapping_with_a_policy_of_its_own(const std::vector<MappingPolicy>& mappings) {
  std::map<std::string, size_t> shown_by;
  for (const auto& m : mappings) ++shown_by[m.policy];
  if (shown_by.size() < 2) return std::nullopt;
  std::string task_policy;
  size_t most = 0;
  for (const auto& [policy, count] : shown_by)
    if (count > most || (count == most && policy == "default")) {
      task_policy = policy;
      most = count;
    }
  for (const auto& m : mappings)
    if (m.policy != task_policy) return m;
  return std::nullopt;
}

}  // namespace cryo
