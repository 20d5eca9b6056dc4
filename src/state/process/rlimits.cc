#include "state/process/rlimits.h"

#include <sys/resource.h>

#include <cerrno>
#include <vector>

#include "kernel/proc_limits.h"

namespace cryo {

Result<> collect_rlimits(pid_t pid, image::ProcessCore& core) {
  ASSIGN_OR_RETURN(std::vector<ResourceLimit> limits, read_proc_limits(pid));
  for (size_t resource = 0; resource < limits.size(); ++resource) {
    auto* r = core.add_rlimits();
    r->set_resource(static_cast<uint32_t>(resource));
    r->set_cur(limits[resource].cur);
    r->set_max(limits[resource].max);
  }
  return {};
}

Result<> restore_rlimits(pid_t host_pid, uint32_t pid, const image::ProcessCore& core) {
  for (const auto& limit : core.rlimits()) {
    rlimit wanted{limit.cur(), limit.max()};
    rlimit old{};
    auto resource = static_cast<__rlimit_resource>(limit.resource());
    if (::prlimit(host_pid, resource, &wanted, &old) == 0) continue;
    int err = errno;
    if (err != EPERM) return fail(errno_error("prlimit(" + std::to_string(limit.resource()) + ")", err).context("rlimits"));
    // Raising a hard limit above cryo's own needs CAP_SYS_RESOURCE. A lower limit than the process
    // had would be a silent change it could trip over later (EMFILE, a smaller stack): refuse.
    if (::prlimit(host_pid, resource, nullptr, &old) != 0) return fail(errno_error("prlimit").context("rlimits"));
    return fail(make_error("pid " + std::to_string(pid) + " had a hard " + rlimit_name(limit.resource()) + " of " +
                           std::to_string(limit.max()) + ", above the " + std::to_string(old.rlim_max) +
                           " that cryo may set without CAP_SYS_RESOURCE")
                    .with_hint("restore with CAP_SYS_RESOURCE, or from a shell whose hard limit (ulimit -H) is at least that"));
  }
  return {};
}

}  // namespace cryo
