#include "kernel/proc_fdinfo.h"

#include <string>

#include "base/file_util.h"
#include "kernel/proc_text.h"

namespace cryo {

Result<FdInfo> parse_proc_fdinfo(std::string_view text) {
  FdInfo info;
  bool have_pos = false, have_flags = false;
  for (auto line : proc_text::lines(text)) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    std::string_view value = proc_text::trim(line.substr(colon + 1));
    if (key == "pos") {
      ASSIGN_OR_RETURN(info.pos, proc_text::parse_u64(value, 10, "fdinfo pos"));
      have_pos = true;
    } else if (key == "flags") {
      ASSIGN_OR_RETURN(uint64_t flags, proc_text::parse_u64(value, 8, "fdinfo flags"));
      info.flags = static_cast<uint32_t>(flags);
      have_flags = true;
    } else if (key == "mnt_id") {
      ASSIGN_OR_RETURN(uint64_t mnt, proc_text::parse_u64(value, 10, "fdinfo mnt_id"));
      info.mnt_id = static_cast<int>(mnt);
    } else if (key == "ino") {
      ASSIGN_OR_RETURN(info.ino, proc_text::parse_u64(value, 10, "fdinfo ino"));
    }
  }
  if (!have_pos || !have_flags) return fail("fdinfo: no pos or flags line");
  return info;
}

Result<FdInfo> read_proc_fdinfo(pid_t pid, int fd) {
  ASSIGN_OR_RETURN(std::string text, read_file("/proc/" + std::to_string(pid) + "/fdinfo/" + std::to_string(fd)));
  auto info = parse_proc_fdinfo(text);
  if (!info) return fail(info.error().context("pid " + std::to_string(pid) + " fd " + std::to_string(fd)));
  return info;
}

}  // namespace cryo
