#include "dump/cgroups.h"

#include "kernel/proc_cgroup.h"

namespace cryo::dump {

Result<> fill_cgroups(pid_t pid, const std::vector<pid_t>& tids, image::ProcessCore& core) {
  ASSIGN_OR_RETURN(auto memberships, read_proc_cgroup(pid));
  for (pid_t tid : tids) {
    if (tid == pid) continue;
    ASSIGN_OR_RETURN(auto thread, read_proc_cgroup(pid, tid));
    for (size_t i = 0; i < thread.size() && i < memberships.size(); ++i)
      if (thread[i] != memberships[i])
        return fail(make_error("thread " + std::to_string(tid) + " is in cgroup " + thread[i].path + " of hierarchy '" +
                               thread[i].controllers + "', its leader in " + memberships[i].path +
                               ": per-thread cgroups are something cryo cannot dump yet"));
  }
  for (const auto& m : memberships) {
    auto* out = core.add_cgroups();
    out->set_controllers(m.controllers);
    out->set_path(m.path);
  }
  return {};
}

}  // namespace cryo::dump
