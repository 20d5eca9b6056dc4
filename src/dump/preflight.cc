#include "dump/preflight.h"

#include <cerrno>
#include <set>
#include <vector>

#include "base/hex.h"
#include "dump/memory_map.h"
#include "dump/namespaces_state.h"
#include "dump/process_files.h"
#include "dump/sysv_ipc.h"
#include "dump/tree_mounts.h"
#include "kernel/proc_maps.h"
#include "kernel/proc_numa_maps.h"
#include "kernel/proc_tasks.h"

namespace cryo::dump {
namespace {

bool vanished(const Error& e) { return e.err == ENOENT || e.err == ESRCH; }

// Runs the checks of one live process; a process that exits meanwhile is skipped (ok).
Result<> check_live_process(pid_t pid, const ProcStatus& status, const DumpTarget& target,
                            const std::map<std::string, uint64_t>& init_namespaces, bool own_ipc) {
  RETURN_IF_ERROR(check_process_shape(status, target));
  auto namespaces = namespace_inodes(pid);
  if (!namespaces) return vanished(namespaces.error()) ? Result<>() : fail(namespaces.error());
  RETURN_IF_ERROR(check_same_namespaces(*namespaces, init_namespaces));
  // A thread may unshare or setns on its own (a UTS or net namespace, pid_for_children): restore
  // clones every thread in its process's namespaces.
  auto tids = list_threads(pid);
  if (!tids) return vanished(tids.error()) ? Result<>() : fail(tids.error());
  for (pid_t tid : *tids) {
    if (tid == pid) continue;
    auto own = namespace_inodes(tid);
    if (!own) {
      if (vanished(own.error())) continue;
      return fail(own.error());
    }
    RETURN_IF_ERROR_CTX(check_same_namespaces(*own, init_namespaces), "thread " + std::to_string(tid));
  }
  auto maps = read_proc_smaps(pid);
  if (!maps) return vanished(maps.error()) ? Result<>() : fail(maps.error());
  for (const auto& entry : *maps) {
    ASSIGN_OR_RETURN(image::VmaKind kind, classify_vma(entry));
    if (kind == image::VMA_SYSV_SHM && !own_ipc) return fail(host_sysv_refusal(entry));
  }
  // Checked here only, on the running tree: numa_maps walks every page table, which the frozen pass
  // does not pay for. A mapping given a policy between this and the freeze escapes the check.
  auto numa_maps = read_numa_maps(pid);
  if (!numa_maps) return vanished(numa_maps.error()) ? Result<>() : fail(numa_maps.error());
  if (auto own = mapping_with_a_policy_of_its_own(*numa_maps))
    return fail("its mapping at " + hex(own->start) + " has a NUMA memory policy of its own (" + own->policy +
                ", set with mbind), which cryo cannot dump");
  std::vector<PipeEnd> ignored;
  auto objects = MemoryObjectCollector::checking_only();
  auto files = collect_files(pid, ignored, objects, nullptr);
  if (!files && !vanished(files.error())) return fail(files.error());
  return {};
}

}  // namespace

std::string describe_process(pid_t pid, const ProcStatus& status) {
  return "process " + std::to_string(pid) + " (" + status.name + ")";
}

Result<> check_process_shape(const ProcStatus& status, const DumpTarget& target) {
  if (status.ns_pid.size() != target.ns_level + 1)
    return fail(make_error("it is in a PID namespace nested in the tree's, which cryo cannot dump yet"));
  // Filters (mode 2) are dumped (state/process/seccomp.h); strict mode allows no injected call.
  if (status.seccomp == 1)
    return fail(make_error("it runs under strict seccomp (mode 1), which cryo cannot dump"));
  return {};
}

Result<> preflight_check(const DumpTarget& target) {
  ASSIGN_OR_RETURN(auto init_namespaces, namespace_inodes(target.init));
  ASSIGN_OR_RETURN(auto own_namespaces, namespace_inodes(0));
  RETURN_IF_ERROR(refuse_unrestorable_namespaces(init_namespaces, own_namespaces));
  if (init_namespaces.at("mnt") != own_namespaces.at("mnt")) RETURN_IF_ERROR(check_tree_mounts(target.init));
  std::vector<pid_t> queue = {target.init};
  std::set<pid_t> seen;
  for (size_t i = 0; i < queue.size(); ++i) {
    pid_t pid = queue[i];
    if (!seen.insert(pid).second) continue;
    auto status = read_proc_status(pid);
    if (!status) {
      if (vanished(status.error())) continue;
      return fail(status.error());
    }
    if (status->state == 'Z' || status->state == 'X') continue;
    if (status->tracer_pid != 0)
      return fail(make_error(describe_process(pid, *status) + " is already traced by PID " + std::to_string(status->tracer_pid))
                      .with_hint("detach the debugger or tracer first"));
    auto checked = check_live_process(pid, *status, target, init_namespaces, init_namespaces.at("ipc") != own_namespaces.at("ipc"));
    if (!checked) return fail(checked.error().context(describe_process(pid, *status)));
    auto children = list_children(pid);
    if (children) queue.insert(queue.end(), children->begin(), children->end());
  }
  // The children walk finds the init's descendants. A process that joined the namespace with
  // setns has its parent outside, and would be missing from the image.
  ASSIGN_OR_RETURN(std::vector<pid_t> members, processes_in_pid_namespace(target.pidns_inode));
  for (pid_t pid : members) {
    if (seen.count(pid)) continue;
    auto status = read_proc_status(pid);
    if (!status) continue;  // Gone meanwhile.
    // A process forked after the walk passed its parent descends from the init (the freezer finds
    // it); one that joined with setns has a parent outside.
    if (in_line_of_descent(status->ppid, target.init)) continue;
    return fail(make_error(describe_process(pid, *status) +
                           " is in the tree's PID namespace but is not a descendant of its init (did it join with "
                           "setns?), so it cannot be dumped")
                    .with_hint("stop that process first"));
  }
  return {};
}

}  // namespace cryo::dump
