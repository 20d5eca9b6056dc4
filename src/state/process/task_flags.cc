#include "state/process/task_flags.h"

#include <asm/prctl.h>
#include <linux/prctl.h>
#include <sys/personality.h>
#include <sys/syscall.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "base/file_util.h"
#include "kernel/proc_text.h"

namespace cryo {
namespace {

// A speculation mitigation the process chose with PR_SET_SPECULATION_CTRL (it can only be chosen
// again from inside, and a forced one not undone): cryo does not restore it yet, so it refuses.
// Only the leader is asked; a thread's own choice shows in the restored tree's verification.
Result<> refuse_speculation_control(RemoteSyscalls& remote) {
  constexpr uint64_t kChosen = PR_SPEC_DISABLE | PR_SPEC_FORCE_DISABLE | PR_SPEC_DISABLE_NOEXEC;
  for (auto [which, name] : {std::pair{PR_SPEC_STORE_BYPASS, "store bypass"}, std::pair{PR_SPEC_INDIRECT_BRANCH, "indirect branch"},
                             std::pair{PR_SPEC_L1D_FLUSH, "L1D flush"}}) {
    auto state = remote.raw(SYS_prctl, {PR_GET_SPECULATION_CTRL, static_cast<uint64_t>(which), 0, 0, 0});
    if (!state) return fail(state.error());
    // A negative result: the CPU or kernel has no such control, so nothing was chosen.
    if (*state > 0 && (static_cast<uint64_t>(*state) & PR_SPEC_PRCTL) && (static_cast<uint64_t>(*state) & kChosen))
      return fail(make_error(std::string("it chose a speculation mitigation (") + name +
                             ", PR_SET_SPECULATION_CTRL), which cryo cannot restore yet"));
  }
  return {};
}

}  // namespace

Result<> collect_process_tunables(pid_t pid, image::ProcessCore& core) {
  auto number = [&](const char* name) -> Result<std::string> {
    ASSIGN_OR_RETURN(std::string text, read_file("/proc/" + std::to_string(pid) + "/" + name));
    return std::string(proc_text::trim(text.substr(0, text.find('\n'))));
  };
  ASSIGN_OR_RETURN(std::string filter, number("coredump_filter"));
  ASSIGN_OR_RETURN(uint64_t filter_bits, proc_text::parse_u64(filter, 16, "coredump_filter"));
  core.set_coredump_filter(static_cast<uint32_t>(filter_bits));
  ASSIGN_OR_RETURN(std::string adj, number("oom_score_adj"));
  ASSIGN_OR_RETURN(int64_t adj_value, proc_text::parse_i64(adj, "oom_score_adj"));
  core.set_oom_score_adj(static_cast<int32_t>(adj_value));
  ASSIGN_OR_RETURN(std::string slack, number("timerslack_ns"));
  ASSIGN_OR_RETURN(uint64_t slack_ns, proc_text::parse_u64(slack, 10, "timerslack_ns"));
  core.set_timerslack_ns(slack_ns);
  // "/autogroup-42 nice 7"; no file on a kernel without autogroups.
  auto autogroup = read_file("/proc/" + std::to_string(pid) + "/autogroup");
  if (!autogroup && autogroup.error().err == ENOENT) return {};
  RETURN_IF_ERROR(autogroup);
  ASSIGN_OR_RETURN(std::optional<int32_t> nice, parse_autogroup_nice(*autogroup));
  if (nice) core.set_autogroup_nice(*nice);
  return {};
}

Result<std::optional<int32_t>> parse_autogroup_nice(std::string_view text) {
  std::string_view line = proc_text::trim(text.substr(0, text.find('\n')));
  if (line.empty()) return std::optional<int32_t>();
  size_t at = line.rfind(" nice ");
  if (!line.starts_with("/autogroup-") || at == std::string_view::npos)
    return fail("autogroup '" + std::string(line) + "': not '/autogroup-ID nice N'");
  ASSIGN_OR_RETURN(int64_t nice, proc_text::parse_i64(line.substr(at + 6), "autogroup nice"));
  if (nice < -20 || nice > 19) return fail("autogroup nice " + std::to_string(nice) + " is outside -20..19");
  return std::optional<int32_t>(static_cast<int32_t>(nice));
}

Result<> ask_thread_flags(RemoteSyscalls& remote, uint64_t at, image::ThreadCore& thread) {
  RETURN_IF_ERROR(remote.call("prctl(PR_GET_PDEATHSIG)", SYS_prctl, {PR_GET_PDEATHSIG, at}));
  RETURN_IF_ERROR(remote.call("prctl(PR_GET_TSC)", SYS_prctl, {PR_GET_TSC, at + 8}));
  ASSIGN_OR_RETURN(uint64_t slack, remote.call("prctl(PR_GET_TIMERSLACK)", SYS_prctl, {PR_GET_TIMERSLACK}));
  thread.set_timerslack_ns(slack);
  ASSIGN_OR_RETURN(uint64_t mce, remote.call("prctl(PR_MCE_KILL_GET)", SYS_prctl, {PR_MCE_KILL_GET, 0, 0, 0, 0}));
  thread.set_mce_kill(static_cast<int32_t>(mce));
  ASSIGN_OR_RETURN(uint64_t cpuid, remote.call("arch_prctl(ARCH_GET_CPUID)", SYS_arch_prctl, {ARCH_GET_CPUID, 0}));
  thread.set_cpuid_faulting(cpuid == 0);
  return {};
}

void read_thread_flags(const char* answer, image::ThreadCore& thread) {
  int32_t pdeath, tsc;
  std::memcpy(&pdeath, answer, sizeof pdeath);
  std::memcpy(&tsc, answer + 8, sizeof tsc);
  thread.set_pdeath_signal(pdeath);
  thread.set_tsc_mode(tsc);
}

Result<> ask_process_flags(RemoteSyscalls& remote, uint64_t at, image::ProcessCore& core) {
  RETURN_IF_ERROR(remote.call("prctl(PR_GET_CHILD_SUBREAPER)", SYS_prctl, {PR_GET_CHILD_SUBREAPER, at}));
  ASSIGN_OR_RETURN(uint64_t dumpable, remote.call("prctl(PR_GET_DUMPABLE)", SYS_prctl, {PR_GET_DUMPABLE}));
  core.set_dumpable(dumpable != 0);
  ASSIGN_OR_RETURN(uint64_t thp_disabled, remote.call("prctl(PR_GET_THP_DISABLE)", SYS_prctl, {PR_GET_THP_DISABLE, 0, 0, 0, 0}));
  core.set_thp_disabled(thp_disabled != 0);
  ASSIGN_OR_RETURN(int64_t mdwe, remote.raw(SYS_prctl, {kPrGetMdwe, 0, 0, 0, 0}));
  if (mdwe >= 0) core.set_mdwe_flags(static_cast<uint32_t>(mdwe));  // Negative: a kernel without it.
  ASSIGN_OR_RETURN(int64_t registered, remote.raw(SYS_membarrier, {kMembarrierGetRegistrations, 0, 0}));
  if (registered >= 0) core.set_membarrier_registrations(static_cast<uint32_t>(registered));
  // The first entry's 8 bytes, or 0 where the mm has no LDT (negative: a kernel without modify_ldt).
  ASSIGN_OR_RETURN(int64_t ldt_bytes, remote.raw(SYS_modify_ldt, {0 /* read */, at + 8, 8}));
  if (ldt_bytes > 0)
    return fail(make_error("it has a local descriptor table (modify_ldt, as Wine and DOS emulators set), which cryo cannot dump yet"));
  return refuse_speculation_control(remote);
}

void read_process_flags(const char* answer, image::ProcessCore& core) {
  int32_t subreaper;
  std::memcpy(&subreaper, answer, sizeof subreaper);
  core.set_child_subreaper(subreaper != 0);
  core.set_pdeath_signal(core.threads(0).pdeath_signal());
}

Result<> restore_process_tunables(pid_t host_pid, uint32_t pid, const image::ProcessCore& core) {
  std::string dir = "/proc/" + std::to_string(host_pid) + "/";
  auto put = [&](const char* name, const std::string& value) -> Result<> {
    auto written = write_existing_file(dir + name, value);
    if (written) return {};
    Error e = written.error().context("pid " + std::to_string(pid) + ": " + name + " " + value);
    if (e.err == EACCES || e.err == EPERM) e = e.with_hint("restore with CAP_SYS_RESOURCE (a lower oom_score_adj than cryo's own needs it)");
    return fail(e);
  };
  if (core.has_coredump_filter()) {
    char hex_value[16];
    // The kernel parses it with base 0: hex needs its 0x.
    std::snprintf(hex_value, sizeof hex_value, "0x%x", core.coredump_filter());
    RETURN_IF_ERROR(put("coredump_filter", hex_value));
  }
  if (core.has_oom_score_adj()) RETURN_IF_ERROR(put("oom_score_adj", std::to_string(core.oom_score_adj())));
  // 0 would mean "back to the default", and only real-time threads show 0 (sched_setattr sets that).
  if (core.has_timerslack_ns() && core.timerslack_ns() != 0)
    RETURN_IF_ERROR(put("timerslack_ns", std::to_string(core.timerslack_ns())));
  // The session's autogroup is new (the placeholder's setsid made it) and has nice 0; every process
  // of the session writes the same nice (dump checked).
  if (core.has_autogroup_nice() && core.autogroup_nice() != 0) {
    auto written = write_existing_file(dir + "autogroup", std::to_string(core.autogroup_nice()));
    if (!written) {
      Error e = written.error().context("pid " + std::to_string(pid) + ": autogroup nice " + std::to_string(core.autogroup_nice()));
      if (e.err == ENOENT) e = e.with_hint("this kernel has no autogroups (CONFIG_SCHED_AUTOGROUP), so the session's nice cannot be given back");
      return fail(e);
    }
  }
  return {};
}

Result<> restore_thread_prctl_state(RemoteTask& task, const image::ThreadCore& thread, bool leader) {
  std::string where = "thread " + std::to_string(thread.tid());
  // The leader's parent-death signal and timer slack come from the process's fields (older images).
  if (!leader && thread.has_pdeath_signal())
    RETURN_IF_ERROR_CTX(task.call("prctl(PR_SET_PDEATHSIG)", SYS_prctl, {PR_SET_PDEATHSIG, static_cast<uint64_t>(thread.pdeath_signal())}),
                        where);
  // 0 would mean "back to the default" (see restore_process_tunables).
  if (!leader && thread.has_timerslack_ns() && thread.timerslack_ns() != 0)
    RETURN_IF_ERROR_CTX(task.call("prctl(PR_SET_TIMERSLACK)", SYS_prctl, {PR_SET_TIMERSLACK, thread.timerslack_ns()}), where);
  if (thread.has_tsc_mode())
    RETURN_IF_ERROR_CTX(task.call("prctl(PR_SET_TSC)", SYS_prctl, {PR_SET_TSC, static_cast<uint64_t>(thread.tsc_mode())}), where);
  if (thread.has_mce_kill()) {
    if (thread.mce_kill() == PR_MCE_KILL_DEFAULT)
      RETURN_IF_ERROR_CTX(task.call("prctl(PR_MCE_KILL, CLEAR)", SYS_prctl, {PR_MCE_KILL, PR_MCE_KILL_CLEAR, 0, 0, 0}), where);
    else
      RETURN_IF_ERROR_CTX(task.call("prctl(PR_MCE_KILL, SET)", SYS_prctl,
                                    {PR_MCE_KILL, PR_MCE_KILL_SET, static_cast<uint64_t>(thread.mce_kill()), 0, 0}),
                          where);
  }
  // ENODEV on a CPU without CPUID faulting: the thread would run CPUID natively, so it is an error.
  if (thread.cpuid_faulting())
    RETURN_IF_ERROR_CTX(task.call("arch_prctl(ARCH_SET_CPUID, 0)", SYS_arch_prctl, {ARCH_SET_CPUID, 0}),
                        where + " had CPUID faulting on (ARCH_SET_CPUID), which this CPU must support");
  return {};
}

Result<> restore_process_flags(RemoteTask& task, const image::ProcessCore& core) {
  RETURN_IF_ERROR(task.call("prctl(PR_SET_DUMPABLE)", SYS_prctl, {PR_SET_DUMPABLE, core.dumpable() ? 1u : 0u}));
  RETURN_IF_ERROR(task.call("prctl(PR_SET_PDEATHSIG)", SYS_prctl, {PR_SET_PDEATHSIG, static_cast<uint64_t>(core.pdeath_signal())}));
  RETURN_IF_ERROR(restore_thread_prctl_state(task, core.threads(0), true));
  if (core.thp_disabled())
    RETURN_IF_ERROR(task.call("prctl(PR_SET_THP_DISABLE)", SYS_prctl, {PR_SET_THP_DISABLE, 1, 0, 0, 0}));
  // Per address space: without them, the process's expedited membarrier calls fail with EPERM.
  for (uint32_t command = 1; command <= kMembarrierRegistrations; command <<= 1)
    if (core.membarrier_registrations() & command)
      RETURN_IF_ERROR(task.call("membarrier(register " + std::to_string(command) + ")", SYS_membarrier, {command, 0, 0}));
  if (core.child_subreaper()) RETURN_IF_ERROR(task.call("prctl(PR_SET_CHILD_SUBREAPER)", SYS_prctl, {PR_SET_CHILD_SUBREAPER, 1}));
  if (core.creds().no_new_privs())
    RETURN_IF_ERROR(task.call("prctl(PR_SET_NO_NEW_PRIVS)", SYS_prctl, {PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0}));
  // Irreversible too, and after every mapping is made: it refuses exec to a mapping that lacks it.
  if (core.mdwe_flags() != 0)
    RETURN_IF_ERROR_CTX(task.call("prctl(PR_SET_MDWE)", SYS_prctl, {kPrSetMdwe, core.mdwe_flags(), 0, 0, 0}),
                        "memory-deny-write-execute " + std::to_string(core.mdwe_flags()) + " (Linux 6.3 has it, 6.6 its no-inherit flag)");
  return {};
}

Result<> restore_personality(RemoteTask& task, const image::ProcessCore& core) {
  // The placeholder's, from cryo-core (which may run with ADDR_NO_RANDOMIZE: address_randomization.h).
  if (static_cast<int>(core.personality()) == ::personality(0xffffffff)) return {};
  RETURN_IF_ERROR(task.call("personality", SYS_personality, {core.personality()}));
  return {};
}

}  // namespace cryo
