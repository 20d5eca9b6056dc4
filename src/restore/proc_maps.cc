#include "restore/proc_maps.h"

#include <cinttypes>
#include <cstdio>

#include "base/file_util.h"

namespace cryo::restore {

Result<std::vector<MapsEntry>> parse_maps(std::string_view text) {
  std::vector<MapsEntry> out;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string line(text.substr(0, newline));
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (line.empty()) continue;
    MapsEntry e;
    char perms[8] = {};
    unsigned dev_major = 0, dev_minor = 0;
    int path_at = -1;
    if (std::sscanf(line.c_str(), "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 " %n", &e.start, &e.end, perms,
                    &e.offset, &dev_major, &dev_minor, &e.inode, &path_at) < 7)
      return fail("maps: malformed line '" + line + "'");
    e.perms = perms;
    if (path_at > 0 && static_cast<size_t>(path_at) < line.size()) e.path = line.substr(static_cast<size_t>(path_at));
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<MapsEntry>> read_maps(pid_t pid) {
  std::string path = pid == 0 ? "/proc/self/maps" : "/proc/" + std::to_string(pid) + "/maps";
  ASSIGN_OR_RETURN(std::string text, read_file(path));
  ASSIGN_OR_RETURN_CTX(auto maps, parse_maps(text), path);
  return maps;
}

bool is_vdso_mapping_name(std::string_view name) { return name == "[vvar]" || name == "[vvar_vclock]" || name == "[vdso]"; }

std::vector<NamedRange> vdso_mappings(const std::vector<MapsEntry>& maps) {
  std::vector<NamedRange> out;
  for (const auto& e : maps)
    if (is_vdso_mapping_name(e.path)) out.push_back({e.path, e.start, e.end});
  return out;
}

}  // namespace cryo::restore
