#include "kernel/proc_cgroup.h"

#include "base/file_util.h"
#include "kernel/proc_text.h"

namespace cryo {

Result<std::vector<CgroupMembership>> parse_proc_cgroup(std::string_view text) {
  std::vector<CgroupMembership> out;
  for (std::string_view line : proc_text::lines(text)) {
    size_t first = line.find(':');
    size_t second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) return fail("cgroup: malformed line '" + std::string(line) + "'");
    // The path is the rest of the line: it may itself contain ':'.
    out.push_back({std::string(line.substr(first + 1, second - first - 1)), std::string(line.substr(second + 1))});
  }
  return out;
}

Result<std::vector<CgroupMembership>> read_proc_cgroup(pid_t pid, pid_t tid) {
  std::string path = "/proc/" + std::to_string(pid) + (tid ? "/task/" + std::to_string(tid) : "") + "/cgroup";
  ASSIGN_OR_RETURN(std::string text, read_file(path));
  return parse_proc_cgroup(text);
}

std::string cgroup_mount_point(const std::vector<MountEntry>& mounts, const std::string& controllers) {
  for (const auto& m : mounts) {
    if (m.root != "/") continue;  // A bind of a subtree is not the hierarchy's root.
    if (controllers.empty()) {
      if (m.fs_type == "cgroup2") return m.mount_point;
      continue;
    }
    if (m.fs_type != "cgroup") continue;
    auto options = "," + m.super_options + ",";
    bool all = true;
    size_t start = 0;
    while (all && start <= controllers.size()) {
      size_t end = controllers.find(',', start);
      if (end == std::string::npos) end = controllers.size();
      all = options.find("," + controllers.substr(start, end - start) + ",") != std::string::npos;
      start = end + 1;
    }
    if (all) return m.mount_point;
  }
  return "";
}

}  // namespace cryo
