#include "dump/process_core.h"

#include <sys/stat.h>

#include <map>
#include <string>

#include "base/file_util.h"
#include "base/hex.h"
#include "base/logging.h"
#include "dump/cgroups.h"
#include "image/file_identity.h"
#include "dump/remote_state.h"
#include "dump/thread_differences.h"
#include "kernel/proc_text.h"
#include "state/process/creds.h"
#include "state/process/mm_fields.h"
#include "state/process/rlimits.h"
#include "state/process/seccomp.h"
#include "state/process/signals.h"
#include "state/process/task_flags.h"
#include "state/process/timers.h"
#include "state/thread/registers.h"
#include "state/thread/registrations.h"
#include "state/thread/rseq.h"
#include "state/thread/scheduling.h"

namespace cryo::dump {
namespace {

std::string proc_path(pid_t pid, const std::string& name) { return "/proc/" + std::to_string(pid) + "/" + name; }

// The personality(2) of a task: /proc/TID/personality shows the thread's own.
Result<uint64_t> read_personality(pid_t tid) {
  ASSIGN_OR_RETURN(std::string text, read_file(proc_path(tid, "personality")));
  return proc_text::parse_u64(proc_text::trim(text), 16, "personality");
}

Result<> fill_thread(Tracee& tracee, uint32_t tid_inside, image::ThreadCore& t) {
  pid_t tid = tracee.tid();
  t.set_tid(tid_inside);
  // Syscall user dispatch (Wine, emulators, stress-ng) turns a process's syscalls outside one range
  // into SIGSYS: per-thread state that cryo does not restore yet, so a restored thread would run its
  // syscalls natively, without a word.
  ASSIGN_OR_RETURN(uint64_t dispatch, tracee.get_syscall_user_dispatch_mode());
  if (dispatch != 0)
    return fail(make_error("thread " + std::to_string(tid) + " uses syscall user dispatch (prctl PR_SET_SYSCALL_USER_DISPATCH, mode " +
                           std::to_string(dispatch) + "), which cryo cannot dump yet"));
  RETURN_IF_ERROR(collect_registers(tracee, t));
  RETURN_IF_ERROR(collect_thread_signals(tracee, t));
  RETURN_IF_ERROR(collect_rseq(tracee, t));
  RETURN_IF_ERROR(collect_robust_list(tracee, t));
  ASSIGN_OR_RETURN(std::string comm, read_file("/proc/" + std::to_string(tid) + "/task/" + std::to_string(tid) + "/comm"));
  t.set_comm(std::string(proc_text::trim(comm)));
  ASSIGN_OR_RETURN(*t.mutable_sched(), read_sched_state(tid));
  return {};
}

}  // namespace

uint32_t PidTranslation::inside(const ProcStatus& status) const {
  return ns_level < status.ns_pid.size() ? static_cast<uint32_t>(status.ns_pid[ns_level]) : 0;
}

Result<image::ProcessCore> collect_process_core(FrozenProcess& process, const ProcStatus& status, const ProcStat& stat,
                                                const PidTranslation& pids, uint32_t* mlockall_flags) {
  pid_t pid = process.pid;
  image::ProcessCore core;
  core.set_pid(pids.inside(status));
  ASSIGN_OR_RETURN(std::string comm, read_file(proc_path(pid, "comm")));
  core.set_comm(std::string(proc_text::trim(comm)));
  ASSIGN_OR_RETURN(std::string cmdline, read_file(proc_path(pid, "cmdline")));
  core.set_cmdline(cmdline);
  core.set_umask(status.umask);
  ASSIGN_OR_RETURN(uint64_t persona, read_personality(pid));
  core.set_personality(static_cast<uint32_t>(persona));
  RETURN_IF_ERROR(collect_rlimits(pid, core));
  RETURN_IF_ERROR(collect_process_tunables(pid, core));
  core.set_exit_signal(static_cast<uint32_t>(stat.exit_signal));

  // Registers, masks and pending signals are read before any syscall is injected.
  std::map<pid_t, uint32_t> inside_tids;
  std::vector<uint64_t> thread_seccomp_modes;
  for (Tracee& thread : process.threads) {
    uint32_t tid_inside = core.pid();
    if (thread.tid() != pid) {
      ASSIGN_OR_RETURN(ProcStatus thread_status, read_proc_status(thread.tid()));
      RETURN_IF_ERROR_CTX(check_same_creds(thread_status, status), "thread " + std::to_string(thread.tid()));
      // A filter installed by one thread alone binds only it: collect_seccomp compares them.
      thread_seccomp_modes.push_back(thread_status.seccomp);
      // Both belong to each thread, and restore gives every thread its leader's (threads are cloned
      // from it): one a thread set for itself alone is refused, not lost.
      if (thread_status.no_new_privs != status.no_new_privs)
        return fail(thread_unlike_its_leader(thread.tid(), "no_new_privs", thread_status.no_new_privs ? "set" : "clear",
                                             status.no_new_privs ? "set" : "clear"));
      ASSIGN_OR_RETURN(uint64_t thread_persona, read_personality(thread.tid()));
      if (thread_persona != persona) return fail(thread_unlike_its_leader(thread.tid(), "personality", hex(thread_persona), hex(persona)));
      tid_inside = pids.inside(thread_status);
    }
    RETURN_IF_ERROR(fill_thread(thread, tid_inside, *core.add_threads()));
    inside_tids[thread.tid()] = tid_inside;
  }
  RETURN_IF_ERROR(collect_posix_timers(pid, inside_tids, core));
  std::vector<pid_t> tids;
  for (const auto& [tid, inside] : inside_tids) tids.push_back(tid);
  RETURN_IF_ERROR(fill_cgroups(pid, tids, core));
  RETURN_IF_ERROR(collect_shared_pending(process.threads.front(), core));
  // Before the first injected call, which the filters are suspended for.
  RETURN_IF_ERROR(collect_seccomp(process.threads, status.seccomp, thread_seccomp_modes, core));

  ASSIGN_OR_RETURN(ProcessWideRemoteState remote, collect_remote_state(process.threads, core));
  collect_creds(status, remote.securebits, core.mutable_creds());
  if (mlockall_flags) *mlockall_flags = remote.mlockall_flags;
  RETURN_IF_ERROR(collect_mm_fields(pid, stat, remote.brk, core.mutable_mm()));
  // The executable, named and identified as the dump does every file it refers to.
  ASSIGN_OR_RETURN(std::string exe, read_link(proc_path(pid, "exe")));
  // Restore opens the executable by its path and checks it is the same file: one deleted or replaced
  // while it runs (a package upgrade) is found nowhere, so the image could never be restored.
  if (exe.ends_with(" (deleted)"))
    return fail(make_error("its executable " + exe + " was deleted or replaced while it runs, which cryo cannot dump yet: restore opens "
                           "the executable by its path")
                    .with_hint("restart the process from the executable now on disk, then dump"));
  core.mutable_mm()->set_exe(exe);
  ASSIGN_OR_RETURN(struct stat exe_stat, stat_path(proc_path(pid, "exe")));
  set_identity(exe_stat, core.mutable_mm()->mutable_exe_identity());
  return core;
}

}  // namespace cryo::dump
