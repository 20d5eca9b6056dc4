#include "kernel/proc_statm.h"

#include <charconv>
#include <string>

#include "base/file_util.h"

namespace cryo {

Result<ProcStatm> parse_proc_statm(std::string_view text) {
  uint64_t fields[7] = {};
  const char* at = text.data();
  const char* end = text.data() + text.size();
  for (uint64_t& field : fields) {
    while (at < end && *at == ' ') ++at;
    auto [next, ec] = std::from_chars(at, end, field);
    if (ec != std::errc() || next == at) return fail("/proc/PID/statm: expected seven numbers, got '" + std::string(text) + "'");
    at = next;
  }
  while (at < end && (*at == ' ' || *at == '\n')) ++at;
  if (at != end) return fail("/proc/PID/statm: more than seven fields");
  return ProcStatm{fields[0], fields[1], fields[2]};
}

Result<ProcStatm> read_proc_statm(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/statm";
  ASSIGN_OR_RETURN(std::string text, read_file(path));
  auto parsed = parse_proc_statm(text);
  if (!parsed) return fail(parsed.error().context(path));
  return parsed;
}

}  // namespace cryo
