#include "kernel/proc_tasks.h"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "base/file_util.h"
#include "kernel/proc_text.h"

namespace cryo {

Result<std::vector<pid_t>> parse_pid_list(std::string_view text) {
  std::vector<pid_t> out;
  for (auto f : proc_text::fields(proc_text::trim(text))) {
    ASSIGN_OR_RETURN(uint64_t pid, proc_text::parse_u64(f, 10, "pid list"));
    out.push_back(static_cast<pid_t>(pid));
  }
  return out;
}

Result<std::vector<pid_t>> list_threads(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = ::opendir(path.c_str());
  if (!dir) return fail_errno("opendir(" + path + ")");
  std::vector<pid_t> tids;
  errno = 0;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    auto tid = proc_text::parse_u64(e->d_name, 10, path);
    if (tid) tids.push_back(static_cast<pid_t>(*tid));
  }
  ::closedir(dir);
  std::sort(tids.begin(), tids.end());
  return tids;
}

Result<std::vector<pid_t>> list_children(pid_t pid) {
  ASSIGN_OR_RETURN(std::vector<pid_t> tids, list_threads(pid));
  std::vector<pid_t> children;
  for (pid_t tid : tids) {
    auto text = read_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/children");
    if (!text) {
      if (text.error().err == ENOENT || text.error().err == ESRCH) continue;  // The thread just exited.
      return fail(text.error());
    }
    ASSIGN_OR_RETURN(std::vector<pid_t> some, parse_pid_list(*text));
    children.insert(children.end(), some.begin(), some.end());
  }
  std::sort(children.begin(), children.end());
  children.erase(std::unique(children.begin(), children.end()), children.end());
  return children;
}

}  // namespace cryo
