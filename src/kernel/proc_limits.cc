#include "kernel/proc_limits.h"

#include <sys/resource.h>

#include <string>

#include "base/file_util.h"
#include "kernel/proc_text.h"

namespace cryo {
namespace {

// The row names of fs/proc/base.c, in RLIMIT_* order.
constexpr std::string_view kRowNames[] = {
    "Max cpu time",      "Max file size",       "Max data size",     "Max stack size",
    "Max core file size", "Max resident set",   "Max processes",     "Max open files",
    "Max locked memory", "Max address space",   "Max file locks",    "Max pending signals",
    "Max msgqueue size", "Max nice priority",   "Max realtime priority", "Max realtime timeout",
};
static_assert(std::size(kRowNames) == RLIMIT_NLIMITS, "one row per resource");

constexpr std::string_view kResourceNames[] = {
    "RLIMIT_CPU",  "RLIMIT_FSIZE",   "RLIMIT_DATA",    "RLIMIT_STACK",      "RLIMIT_CORE", "RLIMIT_RSS",
    "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS",         "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
    "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
};
static_assert(std::size(kResourceNames) == RLIMIT_NLIMITS, "one name per resource");

Result<uint64_t> parse_limit(std::string_view text, const std::string& what) {
  if (text == "unlimited") return static_cast<uint64_t>(RLIM_INFINITY);
  return proc_text::parse_u64(text, 10, what);
}

}  // namespace

Result<std::vector<ResourceLimit>> parse_proc_limits(std::string_view text) {
  auto rows = proc_text::lines(text);
  // A header line, then one row per resource.
  if (rows.size() != std::size(kRowNames) + 1 || !rows[0].starts_with("Limit "))
    return fail("limits: expected a header and " + std::to_string(std::size(kRowNames)) + " rows, got " +
                std::to_string(rows.size()) + " lines");
  std::vector<ResourceLimit> limits;
  for (size_t i = 0; i < std::size(kRowNames); ++i) {
    std::string_view row = rows[i + 1];
    std::string name(kRowNames[i]);
    // Names hold spaces, so the row is matched by its known name; soft and hard limit follow.
    if (!row.starts_with(kRowNames[i]) || row.size() == name.size() || row[name.size()] != ' ')
      return fail("limits: row " + std::to_string(i) + " is '" + std::string(row) + "', expected '" + name + "'");
    auto f = proc_text::fields(row.substr(name.size()));
    if (f.size() < 2) return fail("limits: row '" + std::string(row) + "' has no soft and hard limit");
    ResourceLimit limit;
    ASSIGN_OR_RETURN(limit.cur, parse_limit(f[0], "limits " + name + " soft"));
    ASSIGN_OR_RETURN(limit.max, parse_limit(f[1], "limits " + name + " hard"));
    limits.push_back(limit);
  }
  return limits;
}

std::string rlimit_name(uint32_t resource) {
  if (resource < std::size(kResourceNames)) return std::string(kResourceNames[resource]);
  return "resource " + std::to_string(resource);
}

Result<std::vector<ResourceLimit>> read_proc_limits(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/limits";
  ASSIGN_OR_RETURN(std::string text, read_file(path));
  ASSIGN_OR_RETURN_CTX(auto limits, parse_proc_limits(text), path);
  return limits;
}

}  // namespace cryo
