#include "kernel/proc_mountinfo.h"

#include "base/file_util.h"
#include "kernel/proc_text.h"

namespace cryo {
namespace {

// show_mountinfo() escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && text.size() - i >= 4) {
      auto digit = [&](size_t k) { return text[i + k] >= '0' && text[i + k] <= '7'; };
      if (digit(1) && digit(2) && digit(3)) {
        out += static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 + (text[i + 3] - '0'));
        i += 3;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

}  // namespace

std::string MountEntry::describe() const {
  std::string what = fs_type + " on " + mount_point;
  if (root != "/") what += " (a bind of " + root + ")";
  return what + " [" + mount_options + "]";
}

Result<std::vector<MountEntry>> parse_mountinfo(std::string_view text) {
  std::vector<MountEntry> mounts;
  int number = 0;
  for (std::string_view line : proc_text::lines(text)) {
    ++number;
    auto f = proc_text::fields(line);
    // ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER
    size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (f.size() < 6 || dash + 4 != f.size())
      return fail("mountinfo line " + std::to_string(number) + " has no '- TYPE SOURCE OPTIONS' part: " + std::string(line));
    mounts.push_back({unescape(f[3]), unescape(f[4]), std::string(f[5]), unescape(f[dash + 1]), unescape(f[dash + 2]),
                      std::string(f[dash + 3])});
  }
  return mounts;
}

Result<std::vector<DeviceMount>> mounts_of_device(std::string_view text, unsigned major, unsigned minor) {
  std::string device = std::to_string(major) + ":" + std::to_string(minor);
  std::vector<DeviceMount> mounts;
  for (std::string_view line : proc_text::lines(text)) {
    auto f = proc_text::fields(line);
    if (f.size() < 5) return fail("mountinfo line is too short: " + std::string(line));
    if (f[2] == device) mounts.push_back({unescape(f[3]), unescape(f[4])});
  }
  return mounts;
}

Result<std::vector<MountEntry>> read_mountinfo(pid_t pid) {
  ASSIGN_OR_RETURN(std::string text, read_file("/proc/" + std::to_string(pid) + "/mountinfo"));
  return parse_mountinfo(text);
}

}  // namespace cryo
