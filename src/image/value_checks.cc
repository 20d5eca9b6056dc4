#include "image/value_checks.h"

#include <string_view>

namespace cryo::image {
namespace {

constexpr uint64_t kCanonicalLimit = 0x800000000000;

}  // namespace

bool is_user_address(uint64_t address) { return address < kCanonicalLimit; }

bool is_clean_absolute_path(const std::string& path) {
  if (path.empty() || path[0] != '/' || path.size() >= 4096 || path.find('\0') != std::string::npos) return false;
  if (path == "/") return true;
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    std::string_view component(path.data() + pos, slash - pos);
    if (component.empty() || component == "." || component == "..") return false;
    pos = slash + 1;
  }
  return true;
}

}  // namespace cryo::image
