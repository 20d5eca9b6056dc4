#include "kernel/proc_file_path.h"

#include <vector>

namespace cryo {
namespace {

// A decimal PID as /proc names its directories: digits, no leading zero, within the PID limit.
bool parse_pid(std::string_view text, uint32_t* pid) {
  if (text.empty() || text.size() > 7 || text[0] == '0') return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value == 0 || value > kProcPidLimit) return false;
  *pid = static_cast<uint32_t>(value);
  return true;
}

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

Result<ProcFilePath> parse_proc_file_path(std::string_view path) {
  std::string shown = "/proc" + std::string(path.empty() ? "" : "/") + std::string(path.substr(0, 256));
  if (path.size() > 4096) return fail("a /proc path of " + std::to_string(path.size()) + " bytes");
  if (path.find('\0') != std::string_view::npos) return fail("the /proc path '" + shown + "' holds a NUL byte");
  ProcFilePath out;
  if (path.empty()) return out;  // /proc itself.
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t slash = path.find('/', start);
    std::string_view part = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty() || part == "." || part == "..") return fail("the /proc path '" + shown + "' is not a clean relative path");
    parts.push_back(part);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts[0] == "self" || parts[0] == "thread-self")
    return fail("the /proc path '" + shown + "' goes through /proc/" + std::string(parts[0]) + ", which a dump resolves to a PID");
  if (!all_digits(parts[0])) {
    out.rest = std::string(path);
    return out;
  }
  if (!parse_pid(parts[0], &out.pid)) return fail("the /proc path '" + shown + "' names no valid PID");
  size_t next = 1;
  if (parts.size() >= 3 && parts[1] == "task") {
    if (!parse_pid(parts[2], &out.tid)) return fail("the /proc path '" + shown + "' names no valid thread ID");
    next = 3;
  }
  for (size_t i = next; i < parts.size(); ++i) {
    if (!out.rest.empty()) out.rest += '/';
    out.rest += parts[i];
  }
  return out;
}

std::string unreopenable_proc_file(const ProcFilePath& path) {
  if (path.pid == 0 && path.rest == "kmsg") return "the kernel log (/proc/kmsg), whose readers consume it: a new reader would not be where this one was";
  return "";
}

}  // namespace cryo
