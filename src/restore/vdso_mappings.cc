#include "restore/vdso_mappings.h"

#include "base/file_util.h"

namespace cryo::restore {

Result<std::vector<MapsEntry>> read_maps(pid_t pid) {
  std::string path = pid == 0 ? "/proc/self/maps" : "/proc/" + std::to_string(pid) + "/maps";
  ASSIGN_OR_RETURN(std::string text, read_file(path));
  ASSIGN_OR_RETURN_CTX(auto maps, parse_proc_maps(text), path);
  return maps;
}

const char* vdso_mapping_name(image::VmaKind kind) {
  switch (kind) {
    case image::VMA_VDSO: return "[vdso]";
    case image::VMA_VVAR: return "[vvar]";
    case image::VMA_VVAR_VCLOCK: return "[vvar_vclock]";
    default: return nullptr;
  }
}

bool is_vdso_mapping_name(std::string_view name) { return name == "[vvar]" || name == "[vvar_vclock]" || name == "[vdso]"; }

std::vector<NamedRange> vdso_mappings(const std::vector<MapsEntry>& maps) {
  std::vector<NamedRange> out;
  for (const auto& e : maps)
    if (is_vdso_mapping_name(e.path)) out.push_back({e.path, e.start, e.end});
  return out;
}

}  // namespace cryo::restore
