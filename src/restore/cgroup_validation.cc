#include "restore/cgroups.h"

#include <cctype>

namespace cryo::restore {
namespace {

constexpr size_t kMaxCgroupPath = 4096;

bool safe_path(const std::string& path) {
  if (path.empty() || path[0] != '/' || path.size() >= kMaxCgroupPath || path.find('\0') != std::string::npos) return false;
  if (path.size() > 1 && path.back() == '/') return false;  // The kernel never prints one.
  size_t start = 1;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string component = path.substr(start, end - start);
    if (component.empty() || component == "." || component == "..") return false;
    start = end + 1;
  }
  return true;
}

bool safe_controllers(const std::string& controllers) {
  for (char c : controllers)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ',' || c == '=' || c == '-')) return false;
  return controllers.size() < 256;
}

}  // namespace

void validate_cgroups(const image::ProcessCore& core, std::vector<std::string>* problems) {
  for (const auto& c : core.cgroups())
    if (!safe_path(c.path()) || !safe_controllers(c.controllers()))
      problems->push_back("pid " + std::to_string(core.pid()) + ": cgroup '" + c.path().substr(0, 128) + "' of hierarchy '" +
                          c.controllers().substr(0, 64) + "' is not a clean absolute path");
}

}  // namespace cryo::restore
