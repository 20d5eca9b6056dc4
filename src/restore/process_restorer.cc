#include "restore/process_restorer.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "base/fault_injection.h"
#include "base/logging.h"
#include "kernel/kernel_abi.h"
#include "ptrace/registers.h"
#include "restore/address_plan.h"
#include "restore/fd_status.h"
#include "restore/file_locks.h"
#include "restore/memory_restorer.h"
#include "restore/memory_objects.h"
#include "restore/thread_restorer.h"
#include "restore/vdso_mappings.h"
#include "ptrace/remote_task.h"
#include "state/files/proc_file.h"
#include "state/process/creds.h"
#include "state/process/mm_fields.h"
#include "state/process/rlimits.h"
#include "state/process/seccomp.h"
#include "state/process/signals.h"
#include "state/process/task_flags.h"
#include "state/process/timers.h"
#include "state/thread/registers.h"
#include "state/thread/rseq.h"
#include "state/thread/scheduling.h"

namespace cryo::restore {
namespace {

// Code page plus scratch room for the largest thing written there: a path, the auxv, the groups list.
uint64_t trampoline_size(const image::ProcessCore& core) {
  uint64_t scratch = std::max<uint64_t>(64 * 1024, core.creds().groups_size() * sizeof(uint32_t) + 8192);
  return kTrampolineCodeSize + ((scratch + kPageSize - 1) & ~(kPageSize - 1));
}

// Each step names itself in errors: "restore pid 42: map 0x7f..-0x7f.. (/usr/lib/libc.so.6): mmap: ...".
Result<> restore_into(Tracee& tracee, const ProcessImage& process, const PlaceholderContext& ctx,
                      const PreparedMemory& memory, const VdsoRedirect& vdso, std::vector<std::unique_ptr<Tracee>>& tracees,
                      PageServer* lazy) {
  auto log = logging::get("restore");
  const auto& core = process.core;
  const auto& thread = core.threads(0);
  pid_t host_pid = tracee.tid();

  ASSIGN_OR_RETURN(auto placeholder_maps, read_maps(host_pid));
  ASSIGN_OR_RETURN(RemoteTask task, RemoteTask::start(tracee));
  for (int fd : placeholder_own_fds(ctx)) RETURN_IF_ERROR_CTX(task.call("close", SYS_close, {static_cast<uint64_t>(fd)}), "close cryo's fds");

  uint64_t size = trampoline_size(core);
  ASSIGN_OR_RETURN(uint64_t trampoline, choose_trampoline(placeholder_maps, process.mm, size));
  RETURN_IF_ERROR(task.install_trampoline(trampoline, size));
  log->debug("pid {} (host {}): trampoline at {:#x}", process.pid(), host_pid, trampoline);

  RETURN_IF_ERROR(unregister_placeholder_rseq(task));

  RETURN_IF_ERROR(restore_memory(task, process, *ctx.images->dir_fd, placeholder_maps, ctx.staged.objects, memory, vdso, lazy));
  // The placeholder kept the memory objects it maps open until now (placeholder.cc).
  for (uint64_t id : objects_mapped_by(process))
    RETURN_IF_ERROR_CTX(task.call("close", SYS_close, {static_cast<uint64_t>(ctx.staged.objects.at(id))}), "close memory object fds");
  // Only now: closing any fd of a file (cryo's own, those that mapped files) drops POSIX locks on it.
  RETURN_IF_ERROR(take_file_locks(task, process));
  RETURN_IF_ERROR(fault_point("restore:mid-injection"));
  RETURN_IF_ERROR(restore_mm_fields(task, core.mm()));
  RETURN_IF_ERROR(restore_personality(task, core));
  // The bulk of the calls (memory) is done; from here on the process gets signal state of its own,
  // which the trampoline's int3 (its forced SIGTRAP) would change: syscall stops only.
  RETURN_IF_ERROR(task.stop_trapping());
  RETURN_IF_ERROR(restore_sigactions(task, core));
  RETURN_IF_ERROR(restore_thread_registrations(task, thread));
  // The other threads, while the leader still has the capability to choose their TIDs.
  size_t first_thread = tracees.size();
  RETURN_IF_ERROR(create_threads(task, process, ctx.pid_method, tracees));
  RETURN_IF_ERROR(restore_pending_signals(task, core));
  RETURN_IF_ERROR(restore_rlimits(host_pid, process.pid(), core));
  RETURN_IF_ERROR(restore_process_tunables(host_pid, process.pid(), core));
  if (process.files.root() != "/") {
    // Only now: every file above was opened by its path on the host.
    task.reset_scratch();
    ASSIGN_OR_RETURN(uint64_t path, task.put_string(process.files.root()));
    RETURN_IF_ERROR_CTX(task.call("chroot", SYS_chroot, {path}), "root directory " + process.files.root());
  }
  RETURN_IF_ERROR(create_posix_timers(task, core));
  // After the threads exist, so that they share the leader's filters, and while the process still
  // has every capability (a filter needs CAP_SYS_ADMIN or no_new_privs, which comes later).
  std::vector<Tracee*> process_tracees = {&tracee};
  for (size_t i = first_thread; i < tracees.size(); ++i) process_tracees.push_back(tracees[i].get());
  RETURN_IF_ERROR(restore_seccomp(task, core, process_tracees, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL));
  RETURN_IF_ERROR(restore_creds(task, core.creds()));
  RETURN_IF_ERROR(restore_fd_owners(task, process));
  // Late: a seq file of /proc regenerates its text when positioned (state/files/proc_file.h).
  RETURN_IF_ERROR(state::restore_proc_file_positions(task, process));
  for (size_t i = first_thread; i < tracees.size(); ++i)
    RETURN_IF_ERROR(finish_thread(*tracees[i], task, process, static_cast<int>(i - first_thread + 1)));
  RETURN_IF_ERROR(restore_process_flags(task, core));
  // Its parent is cryo's thread that made the tree, which lives until the page server is done: if
  // cryo dies, the kernel kills the tree rather than let it run on missing pages (page_server.h).
  // The server sets the image's signal again once every page is in place.
  if (lazy && process.pid() == 1)
    RETURN_IF_ERROR_CTX(task.call("prctl(PR_SET_PDEATHSIG)", SYS_prctl, {PR_SET_PDEATHSIG, SIGKILL}), "lazy restore");
  // Timers start counting when set: as late as possible.
  RETURN_IF_ERROR(restore_itimers(task, core, ctx.images->namespaces.clocks_inside()));
  RETURN_IF_ERROR(arm_posix_timers(task, core, ctx.images->namespaces.clocks_inside()));

  ASSIGN_OR_RETURN(Registers final_regs, restore_registers(tracee, thread));
  RETURN_IF_ERROR_CTX(task.finish(final_regs, thread.blocked_mask()), "final step");
  return {};
}

}  // namespace

Result<> restore_process(const ProcessImage& process, pid_t host_pid, const PlaceholderContext& ctx,
                         const PreparedMemory& memory, const VdsoRedirect& vdso, std::vector<std::unique_ptr<Tracee>>& tracees,
                         PageServer* lazy) {
  std::string where = "restore pid " + std::to_string(process.pid());
  auto started = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN_CTX(Tracee seized, Tracee::seize(host_pid), where + ": seize");
  size_t first = tracees.size();
  tracees.push_back(std::make_unique<Tracee>(std::move(seized)));
  Tracee& leader = *tracees.back();
  // If cryo dies before the release, a half-restored process must not run on.
  RETURN_IF_ERROR_CTX(leader.set_options(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL), where);
  {
    auto pin = CpuPin::pin(static_cast<pid_t>(::gettid()), host_pid);
    if (!pin) logging::get("restore")->debug("{}: not pinned to one CPU: {}", where, pin.error().message);
    RETURN_IF_ERROR_CTX(restore_into(leader, process, ctx, memory, vdso, tracees, lazy), where);
  }
  // Unpinned now: the threads get their own CPU masks and scheduling.
  for (int i = 0; i < process.core.threads_size(); ++i)
    RETURN_IF_ERROR_CTX(restore_sched_state(tracees[first + static_cast<size_t>(i)]->tid(), process.core.threads(i)), where);
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  logging::get("restore")->debug("pid {} (host {}) restored with {} threads in {:.2f} ms", process.pid(), host_pid,
                                 process.core.threads_size(), ms);
  return {};
}

}  // namespace cryo::restore
