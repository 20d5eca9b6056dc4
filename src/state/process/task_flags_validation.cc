// Pure, apart from the rest of task_flags.cc: the image fuzzer links it (tests/fuzz/CMakeLists.txt).
#include <linux/prctl.h>

#include "base/hex.h"
#include "state/process/task_flags.h"

namespace cryo {

void validate_task_flags(const image::ProcessCore& core, const image::ProblemSink& problem) {
  if (core.umask() > 0777) problem("umask " + std::to_string(core.umask()) + " is not a permission mask");
  if ((core.mdwe_flags() & ~kKnownMdweFlags) != 0 || core.mdwe_flags() == 2)
    problem("memory-deny-write-execute flags " + std::to_string(core.mdwe_flags()) + " are not ones prctl(PR_SET_MDWE) takes");
  if ((core.membarrier_registrations() & ~kMembarrierRegistrations) != 0)
    problem("membarrier registrations " + std::to_string(core.membarrier_registrations()) + " are not registration commands");
  if ((core.personality() & ~kKnownPersonalityBits) != 0)
    problem("personality " + std::to_string(core.personality()) + " has bits personality(2) does not know");
  if (core.pdeath_signal() < 0 || core.pdeath_signal() > 64)
    problem("parent-death signal " + std::to_string(core.pdeath_signal()) + " is not a signal");
  for (const auto& t : core.threads()) {
    std::string thread = "thread " + std::to_string(t.tid()) + ": ";
    if (t.has_pdeath_signal() && (t.pdeath_signal() < 0 || t.pdeath_signal() > 64))
      problem(thread + "parent-death signal " + std::to_string(t.pdeath_signal()) + " is not a signal");
    if (t.has_tsc_mode() && t.tsc_mode() != PR_TSC_ENABLE && t.tsc_mode() != PR_TSC_SIGSEGV)
      problem(thread + "TSC mode " + std::to_string(t.tsc_mode()) + " is neither PR_TSC_ENABLE nor PR_TSC_SIGSEGV");
    if (t.has_mce_kill() && t.mce_kill() != PR_MCE_KILL_LATE && t.mce_kill() != PR_MCE_KILL_EARLY && t.mce_kill() != PR_MCE_KILL_DEFAULT)
      problem(thread + "machine-check kill policy " + std::to_string(t.mce_kill()) + " is not one prctl knows");
  }
  // MMF_DUMP_FILTER_BITS is 9; the kernel's own range of oom_score_adj.
  if (core.has_coredump_filter() && core.coredump_filter() >= (1u << 9))
    problem("coredump_filter " + hex(core.coredump_filter()) + " has unknown bits");
  if (core.has_autogroup_nice() && (core.autogroup_nice() < -20 || core.autogroup_nice() > 19))
    problem("autogroup nice " + std::to_string(core.autogroup_nice()) + " is outside -20..19");
  if (core.has_oom_score_adj() && (core.oom_score_adj() < -1000 || core.oom_score_adj() > 1000))
    problem("oom_score_adj " + std::to_string(core.oom_score_adj()) + " is outside -1000..1000");
}

}  // namespace cryo
