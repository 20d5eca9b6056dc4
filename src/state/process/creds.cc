#include "state/process/creds.h"

#include <linux/capability.h>
#include <linux/prctl.h>
#include <linux/securebits.h>
#include <sys/syscall.h>

#include <sstream>

#include "base/file_util.h"

namespace cryo {
namespace {

Result<uint64_t> bounding_set(pid_t host_pid) {
  ASSIGN_OR_RETURN(std::string status, read_file("/proc/" + std::to_string(host_pid) + "/status"));
  std::istringstream lines(status);
  std::string line;
  while (std::getline(lines, line))
    if (line.starts_with("CapBnd:")) return std::strtoull(line.c_str() + 7, nullptr, 16);
  return fail("/proc/" + std::to_string(host_pid) + "/status has no CapBnd line");
}

Result<int> last_cap() {
  ASSIGN_OR_RETURN(std::string text, read_file("/proc/sys/kernel/cap_last_cap"));
  return std::atoi(text.c_str());
}

}  // namespace

void collect_creds(const ProcStatus& s, uint32_t securebits, image::Creds* creds) {
  for (uint32_t uid : s.uids) creds->add_uids(uid);
  for (uint32_t gid : s.gids) creds->add_gids(gid);
  for (uint32_t g : s.groups) creds->add_groups(g);
  creds->set_cap_inheritable(s.cap_inheritable);
  creds->set_cap_permitted(s.cap_permitted);
  creds->set_cap_effective(s.cap_effective);
  creds->set_cap_bounding(s.cap_bounding);
  creds->set_cap_ambient(s.cap_ambient);
  creds->set_securebits(securebits);
  creds->set_no_new_privs(s.no_new_privs);
}

Result<> check_same_creds(const ProcStatus& thread, const ProcStatus& leader) {
  if (thread.uids != leader.uids || thread.gids != leader.gids || thread.groups != leader.groups ||
      thread.cap_permitted != leader.cap_permitted || thread.cap_effective != leader.cap_effective ||
      thread.cap_inheritable != leader.cap_inheritable || thread.cap_bounding != leader.cap_bounding ||
      thread.cap_ambient != leader.cap_ambient)
    return fail(make_error("its credentials differ from the thread group leader's, which cryo cannot dump"));
  return {};
}

// Injected last but for the flags they reset. The placeholder runs as root with all of cryo's
// capabilities; the order below keeps the capabilities each step needs until it is done.
Result<> restore_creds(RemoteTask& task, const image::Creds& creds) {
  auto step = [&](Result<uint64_t> r, const std::string& what) -> Result<> {
    if (!r) return fail(r.error().context("creds: " + what));
    return {};
  };
  // Supplementary groups first, while CAP_SETGID is certain.
  std::vector<uint32_t> groups(creds.groups().begin(), creds.groups().end());
  task.reset_scratch();
  uint64_t remote_groups = 0;
  if (!groups.empty()) {
    ASSIGN_OR_RETURN(remote_groups, task.put(groups.data(), groups.size() * sizeof(uint32_t)));
  }
  RETURN_IF_ERROR(step(task.call("setgroups", SYS_setgroups, {groups.size(), remote_groups}), "groups"));

  // Leaving uid 0 would clear the capabilities the rest needs, unless SECURE_NO_SETUID_FIXUP is set.
  ASSIGN_OR_RETURN(uint64_t securebits, task.call("prctl(PR_GET_SECUREBITS)", SYS_prctl, {PR_GET_SECUREBITS}));
  uint64_t keep = securebits | (1u << SECURE_NO_SETUID_FIXUP);
  if (keep != securebits) RETURN_IF_ERROR(step(task.call("prctl(PR_SET_SECUREBITS)", SYS_prctl, {PR_SET_SECUREBITS, keep}), "securebits"));

  const auto& u = creds.uids();
  const auto& g = creds.gids();
  RETURN_IF_ERROR(step(task.call("setresgid", SYS_setresgid, {g[0], g[1], g[2]}), "gids"));
  RETURN_IF_ERROR(step(task.call("setfsgid", SYS_setfsgid, {g[3]}), "fs gid"));
  RETURN_IF_ERROR(step(task.call("setresuid", SYS_setresuid, {u[0], u[1], u[2]}), "uids"));
  RETURN_IF_ERROR(step(task.call("setfsuid", SYS_setfsuid, {u[3]}), "fs uid"));
  if (creds.securebits() != keep)
    RETURN_IF_ERROR(step(task.call("prctl(PR_SET_SECUREBITS)", SYS_prctl, {PR_SET_SECUREBITS, creds.securebits()}), "securebits"));

  // The bounding set only shrinks, and needs CAP_SETPCAP, which capset may drop next.
  ASSIGN_OR_RETURN(uint64_t bounding, bounding_set(task.host_pid()));
  ASSIGN_OR_RETURN(int last, last_cap());
  for (int cap = 0; cap <= last && cap < 64; ++cap) {
    uint64_t bit = 1ull << cap;
    if ((bounding & bit) && !(creds.cap_bounding() & bit))
      RETURN_IF_ERROR(step(task.call("prctl(PR_CAPBSET_DROP)", SYS_prctl, {PR_CAPBSET_DROP, static_cast<uint64_t>(cap)}),
                           "drop capability " + std::to_string(cap) + " from the bounding set"));
  }

  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {
      {static_cast<uint32_t>(creds.cap_effective()), static_cast<uint32_t>(creds.cap_permitted()),
       static_cast<uint32_t>(creds.cap_inheritable())},
      {static_cast<uint32_t>(creds.cap_effective() >> 32), static_cast<uint32_t>(creds.cap_permitted() >> 32),
       static_cast<uint32_t>(creds.cap_inheritable() >> 32)},
  };
  task.reset_scratch();
  ASSIGN_OR_RETURN(uint64_t remote_header, task.put(&header, sizeof header));
  ASSIGN_OR_RETURN(uint64_t remote_data, task.put(data, sizeof data));
  RETURN_IF_ERROR(step(task.call("capset", SYS_capset, {remote_header, remote_data}), "capabilities"));

  RETURN_IF_ERROR(step(task.call("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", SYS_prctl, {PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0}),
                       "ambient capabilities"));
  for (int cap = 0; cap < 64; ++cap)
    if (creds.cap_ambient() & (1ull << cap))
      RETURN_IF_ERROR(step(task.call("prctl(PR_CAP_AMBIENT_RAISE)", SYS_prctl,
                                     {PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, static_cast<uint64_t>(cap), 0, 0}),
                           "ambient capability " + std::to_string(cap)));
  return {};
}

}  // namespace cryo
