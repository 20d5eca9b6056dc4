#include "dump/remote_state.h"

#include <signal.h>
#include <linux/keyctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>

#include "base/fault_injection.h"
#include "base/hex.h"
#include "base/logging.h"
#include "base/page_size.h"
#include "dump/thread_differences.h"
#include "kernel/kernel_abi.h"
#include "kernel/proc_maps.h"
#include "kernel/proc_status.h"
#include "ptrace/injection_sites.h"
#include "ptrace/remote_syscalls.h"
#include "ptrace/remote_task.h"
#include "state/process/signals.h"
#include "state/process/task_flags.h"
#include "state/process/timers.h"
#include "state/thread/mempolicy.h"
#include "state/thread/registrations.h"

namespace cryo::dump {
namespace {

// Layout of the scratch page: where each injected call writes its answer.
constexpr uint64_t kSigactionsAt = 0;
constexpr uint64_t kAltstackAt = kSigactionsAnswerSize;
constexpr uint64_t kTidAddressAt = kAltstackAt + 64;
constexpr uint64_t kThreadFlagsAt = kTidAddressAt + kClearChildTidAnswerSize;
constexpr uint64_t kProcessFlagsAt = kThreadFlagsAt + kThreadFlagsAnswerSize;
constexpr uint64_t kMempolicyAt = kProcessFlagsAt + kProcessFlagsAnswerSize;
// Then, for each thread but the leader, its sigaltstack, clear_child_tid, parent-death signal,
// TSC mode and memory policy (64 bytes a thread).
constexpr uint64_t kThreadsAt = kMempolicyAt + kMempolicyAnswerSize;
constexpr uint64_t kThreadSlot = 64;
constexpr uint64_t kSlotTidAddress = kSigaltstackAnswerSize;
constexpr uint64_t kSlotFlags = kSlotTidAddress + kClearChildTidAnswerSize;
constexpr uint64_t kSlotMempolicy = kSlotFlags + kThreadFlagsAnswerSize;
static_assert(kSlotMempolicy + kMempolicyAnswerSize <= kThreadSlot);
constexpr size_t kThreadsPerPage = (kPageSize - kThreadsAt) / kThreadSlot;
static_assert(kThreadsAt + kThreadSlot <= kPageSize);

// A process or thread keyring (keyctl KEY_SPEC_PROCESS_KEYRING / KEY_SPEC_THREAD_KEYRING) holds
// keys that no /proc file shows and that a restored process would not have: its keyctl calls on
// them would then fail (stress-ng --key: KEYCTL_UPDATE, EACCES). keyctl(KEYCTL_GET_KEYRING_ID, which,
// 0) answers ENOKEY where there is none, and never creates one.
Result<> refuse_own_keyring(RemoteSyscalls& remote, pid_t tid, int64_t which, const char* kind) {
  constexpr long kKeyctlGetKeyringId = 0;
  ASSIGN_OR_RETURN(int64_t id, remote.raw(SYS_keyctl, {kKeyctlGetKeyringId, static_cast<uint64_t>(which), 0}));
  if (id == -ENOKEY || id == -ENOSYS || id == -EOPNOTSUPP) return {};
  if (id < 0) return fail("pid " + std::to_string(tid) + ": remote keyctl(KEYCTL_GET_KEYRING_ID): " + std::strerror(static_cast<int>(-id)));
  return fail(make_error("pid " + std::to_string(tid) + " has a " + kind + " keyring (key " + std::to_string(id) +
                         ", keyctl), whose keys a restored process would not have, which cryo cannot dump yet"));
}

// Asks every other thread for its own sigaltstack, clear_child_tid, parent-death signal, TSC mode,
// timer slack and machine-check policy, into the leader's scratch page (the threads share its
// memory), batch by batch so each batch fits in the page. Securebits (keepcaps among them) belong to
// each thread's credentials, and restore gives every thread the leader's `securebits`: a thread
// that set its own is refused.
Result<> collect_thread_registrations(std::vector<Tracee>& threads, size_t first, size_t count, const InjectionSites& sites,
                                      uint64_t scratch, uint32_t securebits, image::ProcessCore& core) {
  for (size_t i = 0; i < count; ++i) {
    Tracee& thread = threads[first + i];
    uint64_t slot = scratch + kThreadsAt + i * kThreadSlot;
    ASSIGN_OR_RETURN(RemoteSyscalls remote, sites.enter(thread));
    RETURN_IF_ERROR(ask_sigaltstack(remote, slot));
    RETURN_IF_ERROR(ask_clear_child_tid(remote, slot + kSlotTidAddress));
    RETURN_IF_ERROR(ask_thread_flags(remote, slot + kSlotFlags, *core.mutable_threads(static_cast<int>(first + i))));
    RETURN_IF_ERROR(ask_mempolicy(remote, slot + kSlotMempolicy));
    RETURN_IF_ERROR(refuse_own_keyring(remote, thread.tid(), KEY_SPEC_THREAD_KEYRING, "thread"));
    ASSIGN_OR_RETURN(uint64_t own, remote.call("prctl(PR_GET_SECUREBITS)", SYS_prctl, {PR_GET_SECUREBITS}));
    if (own != securebits)
      return fail(thread_unlike_its_leader(thread.tid(), "securebits", hex(own), hex(securebits),
                                           "prctl PR_SET_SECUREBITS or PR_SET_KEEPCAPS in one thread"));
  }
  return {};
}

void read_thread_registrations(const std::string& page, size_t index, image::ThreadCore& thread_core) {
  const char* slot = page.data() + kThreadsAt + index * kThreadSlot;
  read_sigaltstack(slot, thread_core);
  read_clear_child_tid(slot + kSlotTidAddress, thread_core);
  read_thread_flags(slot + kSlotFlags, thread_core);
  read_mempolicy(slot + kSlotMempolicy, thread_core);
}

// A new anonymous mapping gets mm->def_flags: VM_LOCKED after mlockall(MCL_FUTURE), with
// VM_LOCKONFAULT for MCL_ONFAULT. The scratch page is one, and no neighbour can merge into it
// unless its flags are the same. A locked mapping counts in mm->locked_vm from its mmap on: where
// status shows none, not even the scratch page is locked, and the walk of smaps (a page-table walk
// of all memory, 0.2 s at 2 GiB, while the tree is frozen) is spared.
Result<uint32_t> mlockall_flags_shown_by(pid_t tid, uint64_t scratch) {
  ASSIGN_OR_RETURN(ProcStatus status, read_proc_status(tid));
  if (status.locked_kib == 0) return 0u;
  ASSIGN_OR_RETURN(std::vector<MapsEntry> maps, read_proc_smaps(tid));
  for (const auto& e : maps) {
    if (scratch < e.start || scratch >= e.end) continue;
    if (!e.vm_flags.locked) return 0u;
    bool onfault = std::find(e.vm_flags.all.begin(), e.vm_flags.all.end(), "lf") != e.vm_flags.all.end();
    return static_cast<uint32_t>(MCL_FUTURE | (onfault ? MCL_ONFAULT : 0));
  }
  return fail("pid " + std::to_string(tid) + ": the scratch page at " + std::to_string(scratch) + " is not in its smaps");
}

// The tree is frozen, its timers are not: one may expire after collect_process_core read the
// pending signals and before its own time is read here. Its signal would then be in neither, and
// never come after the restore (a stress-ng stressor whose alarm is lost spins forever). So the
// pending signals are read again after the timers, and while they changed, both are read again:
// what is kept is a pair of reads with no signal in between.
Result<> collect_timers_and_their_signals(RemoteTask& task, std::vector<Tracee>& threads, image::ProcessCore& core) {
  if (long ms = test_delay_ms(kTimerReadDelayVariable)) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    RETURN_IF_ERROR(ask_itimers(task.syscalls(), task.scratch()));
    ASSIGN_OR_RETURN(std::string answer, task.read_scratch());
    core.clear_itimers();
    read_itimers(answer.data(), core);
    RETURN_IF_ERROR(collect_posix_timer_times(task, core));
    ASSIGN_OR_RETURN(bool changed, refresh_pending_signals(threads, core));
    if (!changed) return {};
    if (attempt == kAttempts)
      return fail(make_error("pid " + std::to_string(threads.front().tid()) + ": its pending signals changed " + std::to_string(kAttempts) +
                             " times while cryo read its timers; try the dump again"));
  }
}

// A process under a tight address-space limit (stress-ng's rlimit stressor sets RLIMIT_AS to what
// it uses) has no room for the page cryo must map to read its state: the error says so.
Error explain_scratch_failure(const Error& error, const image::ProcessCore& core) {
  if (error.err != ENOMEM) return error;
  for (const auto& limit : core.rlimits()) {
    if (limit.resource() != RLIMIT_AS || limit.cur() == ~uint64_t{0}) continue;
    return error.with_hint("its address-space limit (RLIMIT_AS, " + std::to_string(limit.cur()) +
                           " bytes) leaves no room for the one page cryo maps to read its state; raise it (prlimit --as) and dump again");
  }
  return error;
}

}  // namespace

Result<ProcessWideRemoteState> collect_remote_state(std::vector<Tracee>& threads, image::ProcessCore& core) {
  Tracee& thread = threads.front();
  image::ThreadCore& thread_core = *core.mutable_threads(0);
  pid_t tid = thread.tid();
  auto log = logging::get("dump");
  ASSIGN_OR_RETURN(InjectionSites sites, InjectionSites::find(tid));
  if (!sites.resume) log->debug("pid {}: no resume path (vdso syscall and sigreturn); a death of cryo would harm it", tid);
  // Cryo on the CPU the tracee wakes on makes each injected syscall several times cheaper; without
  // it the dump is only slower. The tracee's own mask is left alone: a cryo killed now must not
  // leave it pinned.
  auto pin = CpuPin::pin_beside(static_cast<pid_t>(::syscall(SYS_gettid)), tid);
  if (!pin) log->debug("pid {}: not pinned to one CPU: {}", tid, pin.error().message);
  ASSIGN_OR_RETURN(RemoteSyscalls injected, sites.enter(thread));
  RemoteTask task = RemoteTask::adopt(thread, std::move(injected));
  RemoteSyscalls& remote = task.syscalls();

  // Data only: every call runs from the vdso or the resume path, so no code is ever left where a
  // thread could run into it. (An int3 trampoline here would be faster, but a thread the kernel
  // detaches from a dead cryo while it runs one dies of the SIGTRAP.)
  auto mapped = task.map_scratch(kPageSize, "scratch page");
  if (!mapped) return fail(explain_scratch_failure(mapped.error(), core));
  uint64_t scratch = *mapped;
  ProcessWideRemoteState state;
  auto body = [&]() -> Result<> {
    ASSIGN_OR_RETURN(state.mlockall_flags, mlockall_flags_shown_by(tid, scratch));
    RETURN_IF_ERROR(ask_sigactions(remote, scratch + kSigactionsAt));
    RETURN_IF_ERROR(ask_sigaltstack(remote, scratch + kAltstackAt));
    RETURN_IF_ERROR(ask_clear_child_tid(remote, scratch + kTidAddressAt));
    RETURN_IF_ERROR(ask_thread_flags(remote, scratch + kThreadFlagsAt, thread_core));
    RETURN_IF_ERROR(ask_process_flags(remote, scratch + kProcessFlagsAt, core));
    RETURN_IF_ERROR(ask_mempolicy(remote, scratch + kMempolicyAt));
    RETURN_IF_ERROR(refuse_own_keyring(remote, tid, KEY_SPEC_PROCESS_KEYRING, "process"));
    RETURN_IF_ERROR(refuse_own_keyring(remote, tid, KEY_SPEC_THREAD_KEYRING, "thread"));
    ASSIGN_OR_RETURN(uint64_t securebits, remote.call("prctl(PR_GET_SECUREBITS)", SYS_prctl, {PR_GET_SECUREBITS}));
    // brk(0) fails by design and returns the current break: the one mm field /proc does not show.
    ASSIGN_OR_RETURN(uint64_t brk, remote.call("brk(0)", SYS_brk, {0}));
    state.securebits = static_cast<uint32_t>(securebits);
    state.brk = brk;
    return {};
  };
  auto collected = body();
  std::string page;
  if (collected) {
    auto read = task.read_scratch();
    if (read) page = std::move(*read);
    else collected = fail(read.error());
  }
  for (size_t first = 1; collected && first < threads.size(); first += kThreadsPerPage) {
    size_t count = std::min(kThreadsPerPage, threads.size() - first);
    collected = collect_thread_registrations(threads, first, count, sites, scratch, state.securebits, core);
    if (!collected) break;
    auto read = task.read_scratch();
    if (!read) {
      collected = fail(read.error());
      break;
    }
    for (size_t i = 0; i < count; ++i) read_thread_registrations(*read, i, *core.mutable_threads(static_cast<int>(first + i)));
  }
  if (collected) collected = collect_timers_and_their_signals(task, threads, core);
  // Unmapped on every path that mapped it: a leftover page would change the process's memory map.
  auto unmapped = task.unmap_scratch();
  if (!collected) return fail(collected.error());
  if (!unmapped) return fail(unmapped.error());

  read_sigactions(page.data() + kSigactionsAt, core);
  read_sigaltstack(page.data() + kAltstackAt, thread_core);
  read_clear_child_tid(page.data() + kTidAddressAt, thread_core);
  read_thread_flags(page.data() + kThreadFlagsAt, thread_core);
  read_process_flags(page.data() + kProcessFlagsAt, core);
  read_mempolicy(page.data() + kMempolicyAt, thread_core);
  return state;
}

}  // namespace cryo::dump
