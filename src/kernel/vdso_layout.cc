#include "kernel/vdso_layout.h"

#include <unistd.h>

#include "base/file_util.h"
#include "kernel/proc_maps.h"

namespace cryo {
namespace {

constexpr std::string_view kSpecialNames[] = {"[vvar]", "[vvar_vclock]", "[vdso]", "[vsyscall]"};

bool is_special(std::string_view name) {
  for (auto special : kSpecialNames)
    if (name == special) return true;
  return false;
}

}  // namespace

Result<std::vector<SpecialMapping>> parse_special_mappings(std::string_view maps_text) {
  ASSIGN_OR_RETURN(std::vector<MapsEntry> entries, parse_proc_maps(maps_text));
  std::vector<SpecialMapping> mappings;
  for (const auto& entry : entries)
    if (is_special(entry.path)) mappings.push_back({entry.path, entry.start, entry.end});
  return mappings;
}

Result<std::vector<SpecialMapping>> read_special_mappings(pid_t pid) {
  std::string path = pid == 0 ? "/proc/self/maps" : "/proc/" + std::to_string(pid) + "/maps";
  ASSIGN_OR_RETURN(std::string text, read_file(path));
  ASSIGN_OR_RETURN_CTX(auto mappings, parse_special_mappings(text), path);
  return mappings;
}

std::string describe_special_mappings(const std::vector<SpecialMapping>& mappings) {
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  std::string out;
  for (const auto& mapping : mappings) {
    uint64_t pages = mapping.size() / page;
    if (!out.empty()) out += ", ";
    out += mapping.name + " " + std::to_string(pages) + (pages == 1 ? " page" : " pages");
  }
  return out;
}

const SpecialMapping* find_special_mapping(const std::vector<SpecialMapping>& mappings, std::string_view name) {
  for (const auto& mapping : mappings)
    if (mapping.name == name) return &mapping;
  return nullptr;
}

}  // namespace cryo
