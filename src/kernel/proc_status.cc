#include "kernel/proc_status.h"

#include <map>

#include "base/file_util.h"
#include "kernel/proc_text.h"

namespace cryo {
namespace {

using proc_text::fields;
using proc_text::parse_u64;

Result<std::vector<pid_t>> pid_list(std::string_view value, const std::string& what) {
  std::vector<pid_t> out;
  for (auto f : fields(value)) {
    ASSIGN_OR_RETURN(uint64_t v, parse_u64(f, 10, what));
    out.push_back(static_cast<pid_t>(v));
  }
  return out;
}

Result<std::array<uint32_t, 4>> id_quad(std::string_view value, const std::string& what) {
  auto f = fields(value);
  if (f.size() != 4) return fail(what + ": expected 4 IDs, got '" + std::string(value) + "'");
  std::array<uint32_t, 4> out{};
  for (size_t i = 0; i < 4; ++i) {
    ASSIGN_OR_RETURN(uint64_t v, parse_u64(f[i], 10, what));
    out[i] = static_cast<uint32_t>(v);
  }
  return out;
}

}  // namespace

Result<ProcStatus> parse_proc_status(std::string_view text) {
  std::map<std::string_view, std::string_view> values;
  for (auto line : proc_text::lines(text)) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    values[line.substr(0, colon)] = proc_text::trim(line.substr(colon + 1));
  }
  auto get = [&](std::string_view key) -> Result<std::string_view> {
    auto it = values.find(key);
    if (it == values.end()) return fail("status: no " + std::string(key) + " line");
    return it->second;
  };
  auto hex = [&](std::string_view key) -> Result<uint64_t> {
    ASSIGN_OR_RETURN(std::string_view v, get(key));
    return parse_u64(v, 16, "status " + std::string(key));
  };
  auto dec = [&](std::string_view key) -> Result<uint64_t> {
    ASSIGN_OR_RETURN(std::string_view v, get(key));
    return parse_u64(v, 10, "status " + std::string(key));
  };

  ProcStatus s;
  // The name is everything after the tab, and may itself contain spaces.
  ASSIGN_OR_RETURN(std::string_view name, get("Name"));
  s.name = std::string(name);
  if (auto it = values.find("Umask"); it != values.end()) {
    ASSIGN_OR_RETURN(uint64_t umask, parse_u64(it->second, 8, "status Umask"));
    s.umask = static_cast<uint32_t>(umask);
  }
  ASSIGN_OR_RETURN(std::string_view state, get("State"));
  if (state.empty()) return fail("status: empty State");
  s.state = state[0];
  ASSIGN_OR_RETURN(uint64_t tgid, dec("Tgid"));
  ASSIGN_OR_RETURN(uint64_t pid, dec("Pid"));
  ASSIGN_OR_RETURN(uint64_t ppid, dec("PPid"));
  ASSIGN_OR_RETURN(uint64_t tracer, dec("TracerPid"));
  s.tgid = static_cast<pid_t>(tgid);
  s.pid = static_cast<pid_t>(pid);
  s.ppid = static_cast<pid_t>(ppid);
  s.tracer_pid = static_cast<pid_t>(tracer);
  ASSIGN_OR_RETURN(std::string_view uid, get("Uid"));
  ASSIGN_OR_RETURN(s.uids, id_quad(uid, "status Uid"));
  ASSIGN_OR_RETURN(std::string_view gid, get("Gid"));
  ASSIGN_OR_RETURN(s.gids, id_quad(gid, "status Gid"));
  ASSIGN_OR_RETURN(std::string_view groups, get("Groups"));
  for (auto f : fields(groups)) {
    ASSIGN_OR_RETURN(uint64_t g, parse_u64(f, 10, "status Groups"));
    s.groups.push_back(static_cast<uint32_t>(g));
  }
  ASSIGN_OR_RETURN(std::string_view nstgid, get("NStgid"));
  ASSIGN_OR_RETURN(s.ns_tgid, pid_list(nstgid, "status NStgid"));
  ASSIGN_OR_RETURN(std::string_view nspid, get("NSpid"));
  ASSIGN_OR_RETURN(s.ns_pid, pid_list(nspid, "status NSpid"));
  ASSIGN_OR_RETURN(std::string_view nspgid, get("NSpgid"));
  ASSIGN_OR_RETURN(s.ns_pgid, pid_list(nspgid, "status NSpgid"));
  ASSIGN_OR_RETURN(std::string_view nssid, get("NSsid"));
  ASSIGN_OR_RETURN(s.ns_sid, pid_list(nssid, "status NSsid"));
  if (s.ns_pid.empty() || s.ns_tgid.size() != s.ns_pid.size())
    return fail("status: NSpid and NStgid do not list the same namespaces");
  ASSIGN_OR_RETURN(uint64_t threads, dec("Threads"));
  s.threads = static_cast<uint32_t>(threads);
  ASSIGN_OR_RETURN(s.sig_pending, hex("SigPnd"));
  ASSIGN_OR_RETURN(s.shared_pending, hex("ShdPnd"));
  ASSIGN_OR_RETURN(s.sig_blocked, hex("SigBlk"));
  ASSIGN_OR_RETURN(s.sig_ignored, hex("SigIgn"));
  ASSIGN_OR_RETURN(s.sig_caught, hex("SigCgt"));
  ASSIGN_OR_RETURN(s.cap_inheritable, hex("CapInh"));
  ASSIGN_OR_RETURN(s.cap_permitted, hex("CapPrm"));
  ASSIGN_OR_RETURN(s.cap_effective, hex("CapEff"));
  ASSIGN_OR_RETURN(s.cap_bounding, hex("CapBnd"));
  ASSIGN_OR_RETURN(s.cap_ambient, hex("CapAmb"));
  ASSIGN_OR_RETURN(uint64_t nnp, dec("NoNewPrivs"));
  s.no_new_privs = nnp != 0;
  ASSIGN_OR_RETURN(uint64_t seccomp, dec("Seccomp"));
  s.seccomp = static_cast<uint32_t>(seccomp);
  if (auto it = values.find("VmLck"); it != values.end()) {
    std::string_view kib = it->second;
    if (!kib.ends_with(" kB")) return fail("status: VmLck '" + std::string(kib) + "' is not in kB");
    ASSIGN_OR_RETURN(s.locked_kib, parse_u64(proc_text::trim(kib.substr(0, kib.size() - 3)), 10, "status VmLck"));
  }
  return s;
}

Result<ProcStatus> read_proc_status(pid_t pid) {
  ASSIGN_OR_RETURN(std::string text, read_file("/proc/" + std::to_string(pid) + "/status"));
  auto status = parse_proc_status(text);
  if (!status) return fail(status.error().context("pid " + std::to_string(pid)));
  return status;
}

bool in_line_of_descent(pid_t pid, pid_t ancestor) {
  for (int hops = 0; hops < 4096 && pid > 0; ++hops) {
    if (pid == ancestor) return true;
    if (pid == 1) return false;
    auto status = read_proc_status(pid);
    if (!status) return false;
    pid = status->ppid;
  }
  return false;
}

}  // namespace cryo
