#include "kernel/tree_identity.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "base/file_util.h"

namespace cryo {

Result<std::string> read_boot_id() {
  ASSIGN_OR_RETURN(std::string id, read_file("/proc/sys/kernel/random/boot_id"));
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

uint64_t parse_start_time(const std::string& stat_line) {
  // The command name (field 2) may hold spaces and parentheses: count from its last ')'.
  size_t close = stat_line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat_line.substr(close + 1));
  std::string field;
  // Fields 3..21, then 22.
  for (int i = 3; i <= 21; ++i)
    if (!(rest >> field)) return 0;
  if (!(rest >> field)) return 0;
  return std::strtoull(field.c_str(), nullptr, 10);
}

Result<TreeIdentityFacts> read_tree_identity(pid_t init) {
  TreeIdentityFacts facts;
  ASSIGN_OR_RETURN(facts.boot_id, read_boot_id());
  std::string proc = "/proc/" + std::to_string(init);
  struct stat ns;
  if (::stat((proc + "/ns/pid").c_str(), &ns) != 0) return fail_errno("stat(" + proc + "/ns/pid)");
  facts.pidns_inode = ns.st_ino;
  ASSIGN_OR_RETURN(std::string stat_line, read_file(proc + "/stat"));
  // A dead init whose parent has not reaped it yet is gone, as is its tree.
  size_t close = stat_line.rfind(')');
  if (close == std::string::npos || close + 2 >= stat_line.size()) return fail(proc + "/stat: malformed");
  char state = stat_line[close + 2];
  if (state == 'Z' || state == 'X') return fail(Error{proc + " has exited", ESRCH, {}, 1});
  facts.init_start_time = parse_start_time(stat_line);
  if (facts.init_start_time == 0) return fail(proc + "/stat: no start time in '" + stat_line + "'");
  return facts;
}

}  // namespace cryo
