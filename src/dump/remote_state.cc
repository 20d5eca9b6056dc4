#include "dump/remote_state.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "base/logging.h"
#include "base/page_size.h"
#include "kernel/kernel_abi.h"
#include "kernel/proc_maps.h"
#include "ptrace/remote_syscalls.h"
#include "ptrace/remote_task.h"
#include "ptrace/resume_frame.h"

namespace cryo::dump {
namespace {

// Layout of the scratch page: where each injected call writes its answer.
constexpr uint64_t kSigactionsAt = 0;                       // 65 * 32 bytes, indexed by signal.
constexpr uint64_t kAltstackAt = 65 * sizeof(kernel_abi::Sigaction);
constexpr uint64_t kItimersAt = kAltstackAt + 64;          // 3 * 32 bytes.
constexpr uint64_t kTidAddressAt = kItimersAt + 3 * sizeof(kernel_abi::Itimerval);
constexpr uint64_t kPdeathsigAt = kTidAddressAt + 8;
constexpr uint64_t kSubreaperAt = kPdeathsigAt + 8;
constexpr uint64_t kTscAt = kSubreaperAt + 8;
// Then, for each thread but the leader, its sigaltstack, clear_child_tid, parent-death signal and
// TSC mode (64 bytes a thread).
constexpr uint64_t kThreadsAt = kTscAt + 8;
constexpr uint64_t kThreadSlot = 64;
constexpr uint64_t kSlotTidAddress = sizeof(kernel_abi::Stack);
constexpr uint64_t kSlotPdeathsig = kSlotTidAddress + 8;
constexpr uint64_t kSlotTsc = kSlotPdeathsig + 8;
constexpr size_t kThreadsPerPage = (kPageSize - kThreadsAt) / kThreadSlot;
static_assert(kThreadsAt + kThreadSlot <= kPageSize);

// How syscalls are injected into a thread: through the process's resume path when it has one (a
// cryo killed meanwhile cannot harm the thread, see ptrace/resume_frame.h), else through the vdso.
struct InjectionSites {
  std::optional<ResumePath> resume;
  SyscallSite vdso;

  Result<RemoteSyscalls> enter(Tracee& thread) const {
    if (resume) return RemoteSyscalls::create_resumable(thread, *resume);
    return RemoteSyscalls::create(thread, vdso);
  }
};

// The prctl state of the calling thread that comes back as a result, not through memory.
Result<> collect_thread_prctl_results(RemoteSyscalls& remote, image::ThreadCore& thread_core) {
  ASSIGN_OR_RETURN(uint64_t slack, remote.call("prctl(PR_GET_TIMERSLACK)", SYS_prctl, {PR_GET_TIMERSLACK}));
  thread_core.set_timerslack_ns(slack);
  ASSIGN_OR_RETURN(uint64_t mce, remote.call("prctl(PR_MCE_KILL_GET)", SYS_prctl, {PR_MCE_KILL_GET, 0, 0, 0, 0}));
  thread_core.set_mce_kill(static_cast<int32_t>(mce));
  return {};
}

// Asks every other thread for its own sigaltstack, clear_child_tid, parent-death signal, TSC mode,
// timer slack and machine-check policy, into the leader's scratch page (the threads share its
// memory), batch by batch so each batch fits in the page.
Result<> collect_thread_registrations(std::vector<Tracee>& threads, size_t first, size_t count, const InjectionSites& sites,
                                      uint64_t scratch, image::ProcessCore& core) {
  for (size_t i = 0; i < count; ++i) {
    Tracee& thread = threads[first + i];
    uint64_t slot = scratch + kThreadsAt + i * kThreadSlot;
    ASSIGN_OR_RETURN(RemoteSyscalls remote, sites.enter(thread));
    RETURN_IF_ERROR(remote.call("sigaltstack", SYS_sigaltstack, {0, slot}));
    RETURN_IF_ERROR(remote.call("prctl(PR_GET_TID_ADDRESS)", SYS_prctl, {PR_GET_TID_ADDRESS, slot + kSlotTidAddress}));
    RETURN_IF_ERROR(remote.call("prctl(PR_GET_PDEATHSIG)", SYS_prctl, {PR_GET_PDEATHSIG, slot + kSlotPdeathsig}));
    RETURN_IF_ERROR(remote.call("prctl(PR_GET_TSC)", SYS_prctl, {PR_GET_TSC, slot + kSlotTsc}));
    RETURN_IF_ERROR(collect_thread_prctl_results(remote, *core.mutable_threads(static_cast<int>(first + i))));
  }
  return {};
}

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

static_assert(sizeof(kernel_abi::Itimerspec) <= kThreadSlot);

// Asks the process for the time left on each of its POSIX timers (timer_gettime), a page's worth
// at a time, into the same slots the threads use.
Result<> collect_posix_timer_times(RemoteTask& task, image::ProcessCore& core) {
  RemoteSyscalls& remote = task.syscalls();
  uint64_t scratch = task.scratch();
  for (int first = 0; first < core.posix_timers_size(); first += static_cast<int>(kThreadsPerPage)) {
    int count = std::min(static_cast<int>(kThreadsPerPage), core.posix_timers_size() - first);
    for (int i = 0; i < count; ++i) {
      auto id = static_cast<uint64_t>(core.posix_timers(first + i).id());
      RETURN_IF_ERROR(remote.call("timer_gettime(" + std::to_string(id) + ")", SYS_timer_gettime,
                                  {id, scratch + kThreadsAt + static_cast<uint64_t>(i) * kThreadSlot}));
    }
    ASSIGN_OR_RETURN(std::string page, task.read_scratch());
    for (int i = 0; i < count; ++i) {
      kernel_abi::Itimerspec spec;
      std::memcpy(&spec, page.data() + kThreadsAt + static_cast<size_t>(i) * kThreadSlot, sizeof spec);
      auto* timer = core.mutable_posix_timers(first + i);
      timer->set_value_ns(static_cast<uint64_t>(spec.value_sec) * 1000000000ull + static_cast<uint64_t>(spec.value_nsec));
      timer->set_interval_ns(static_cast<uint64_t>(spec.interval_sec) * 1000000000ull + static_cast<uint64_t>(spec.interval_nsec));
    }
  }
  return {};
}

void read_thread_registrations(const std::string& page, size_t index, image::ThreadCore& thread_core) {
  kernel_abi::Stack ss;
  std::memcpy(&ss, page.data() + kThreadsAt + index * kThreadSlot, sizeof ss);
  thread_core.mutable_altstack()->set_sp(ss.sp);
  thread_core.mutable_altstack()->set_flags(ss.flags);
  thread_core.mutable_altstack()->set_size(ss.size);
  const char* slot = page.data() + kThreadsAt + index * kThreadSlot;
  uint64_t tid_address;
  std::memcpy(&tid_address, slot + kSlotTidAddress, sizeof tid_address);
  thread_core.set_clear_child_tid(tid_address);
  int32_t pdeath, tsc;
  std::memcpy(&pdeath, slot + kSlotPdeathsig, sizeof pdeath);
  std::memcpy(&tsc, slot + kSlotTsc, sizeof tsc);
  thread_core.set_pdeath_signal(pdeath);
  thread_core.set_tsc_mode(tsc);
}

// A new anonymous mapping gets mm->def_flags: VM_LOCKED after mlockall(MCL_FUTURE), with
// VM_LOCKONFAULT for MCL_ONFAULT. The scratch page is one, and no neighbour can merge into it
// unless its flags are the same.
Result<uint32_t> mlockall_flags_shown_by(pid_t tid, uint64_t scratch) {
  ASSIGN_OR_RETURN(std::vector<MapsEntry> maps, read_proc_smaps(tid));
  for (const auto& e : maps) {
    if (scratch < e.start || scratch >= e.end) continue;
    if (!e.vm_flags.locked) return 0u;
    bool onfault = std::find(e.vm_flags.all.begin(), e.vm_flags.all.end(), "lf") != e.vm_flags.all.end();
    return static_cast<uint32_t>(MCL_FUTURE | (onfault ? MCL_ONFAULT : 0));
  }
  return fail("pid " + std::to_string(tid) + ": the scratch page at " + std::to_string(scratch) + " is not in its smaps");
}

}  // namespace

Result<ProcessWideRemoteState> collect_remote_state(std::vector<Tracee>& threads, image::ProcessCore& core) {
  Tracee& thread = threads.front();
  image::ThreadCore& thread_core = *core.mutable_threads(0);
  pid_t tid = thread.tid();
  auto log = logging::get("dump");
  InjectionSites sites;
  ASSIGN_OR_RETURN(sites.vdso, find_vdso_syscall(tid));
  ASSIGN_OR_RETURN(sites.resume, find_resume_path(tid));
  if (!sites.resume) log->debug("pid {}: no resume path (vdso syscall and sigreturn); a death of cryo would harm it", tid);
  // Pinning both sides to one CPU makes each injected syscall several times cheaper; without it
  // the dump is only slower.
  auto pin = CpuPin::pin(static_cast<pid_t>(::syscall(SYS_gettid)), tid);
  if (!pin) log->debug("pid {}: not pinned to one CPU: {}", tid, pin.error().message);
  ASSIGN_OR_RETURN(RemoteSyscalls injected, sites.enter(thread));
  RemoteTask task = RemoteTask::adopt(thread, std::move(injected));
  RemoteSyscalls& remote = task.syscalls();

  // Data only: every call runs from the vdso or the resume path, so no code is ever left where a
  // thread could run into it. (An int3 trampoline here would be faster, but a thread the kernel
  // detaches from a dead cryo while it runs one dies of the SIGTRAP.)
  ASSIGN_OR_RETURN(uint64_t scratch, task.map_scratch(kPageSize, "scratch page"));
  ProcessWideRemoteState state;
  auto body = [&]() -> Result<> {
    ASSIGN_OR_RETURN(state.mlockall_flags, mlockall_flags_shown_by(tid, scratch));
    for (int sig = 1; sig <= 64; ++sig) {
      if (sig == SIGKILL || sig == SIGSTOP) continue;
      RETURN_IF_ERROR(remote.call("rt_sigaction(" + std::to_string(sig) + ")", SYS_rt_sigaction,
                                  {static_cast<uint64_t>(sig), 0, scratch + kSigactionsAt + sig * sizeof(kernel_abi::Sigaction), 8}));
    }
    RETURN_IF_ERROR(remote.call("sigaltstack", SYS_sigaltstack, {0, scratch + kAltstackAt}));
    for (int which = 0; which < 3; ++which)
      RETURN_IF_ERROR(remote.call("getitimer(" + std::to_string(which) + ")", SYS_getitimer,
                                  {static_cast<uint64_t>(which), scratch + kItimersAt + which * sizeof(kernel_abi::Itimerval)}));
    RETURN_IF_ERROR(remote.call("prctl(PR_GET_TID_ADDRESS)", SYS_prctl, {PR_GET_TID_ADDRESS, scratch + kTidAddressAt}));
    RETURN_IF_ERROR(remote.call("prctl(PR_GET_PDEATHSIG)", SYS_prctl, {PR_GET_PDEATHSIG, scratch + kPdeathsigAt}));
    RETURN_IF_ERROR(remote.call("prctl(PR_GET_CHILD_SUBREAPER)", SYS_prctl, {PR_GET_CHILD_SUBREAPER, scratch + kSubreaperAt}));
    ASSIGN_OR_RETURN(uint64_t dumpable, remote.call("prctl(PR_GET_DUMPABLE)", SYS_prctl, {PR_GET_DUMPABLE}));
    ASSIGN_OR_RETURN(uint64_t securebits, remote.call("prctl(PR_GET_SECUREBITS)", SYS_prctl, {PR_GET_SECUREBITS}));
    RETURN_IF_ERROR(remote.call("prctl(PR_GET_TSC)", SYS_prctl, {PR_GET_TSC, scratch + kTscAt}));
    RETURN_IF_ERROR(collect_thread_prctl_results(remote, thread_core));
    ASSIGN_OR_RETURN(uint64_t thp_disabled, remote.call("prctl(PR_GET_THP_DISABLE)", SYS_prctl, {PR_GET_THP_DISABLE, 0, 0, 0, 0}));
    core.set_thp_disabled(thp_disabled != 0);
    RETURN_IF_ERROR(refuse_speculation_control(remote));
    // brk(0) fails by design and returns the current break: the one mm field /proc does not show.
    ASSIGN_OR_RETURN(uint64_t brk, remote.call("brk(0)", SYS_brk, {0}));
    state.dumpable = dumpable != 0;
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
  if (collected) collected = collect_posix_timer_times(task, core);
  for (size_t first = 1; collected && first < threads.size(); first += kThreadsPerPage) {
    size_t count = std::min(kThreadsPerPage, threads.size() - first);
    collected = collect_thread_registrations(threads, first, count, sites, scratch, core);
    if (!collected) break;
    auto read = task.read_scratch();
    if (!read) {
      collected = fail(read.error());
      break;
    }
    for (size_t i = 0; i < count; ++i) read_thread_registrations(*read, i, *core.mutable_threads(static_cast<int>(first + i)));
  }
  // Unmapped on every path that mapped it: a leftover page would change the process's memory map.
  auto unmapped = task.unmap_scratch();
  if (!collected) return fail(collected.error());
  if (!unmapped) return fail(unmapped.error());

  for (int sig = 1; sig <= 64; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    kernel_abi::Sigaction sa;
    std::memcpy(&sa, page.data() + kSigactionsAt + sig * sizeof sa, sizeof sa);
    auto* action = core.add_sigactions();
    action->set_signo(static_cast<uint32_t>(sig));
    action->set_handler(sa.handler);
    action->set_flags(sa.flags);
    action->set_restorer(sa.restorer);
    action->set_mask(sa.mask);
  }
  kernel_abi::Stack ss;
  std::memcpy(&ss, page.data() + kAltstackAt, sizeof ss);
  thread_core.mutable_altstack()->set_sp(ss.sp);
  thread_core.mutable_altstack()->set_flags(ss.flags);
  thread_core.mutable_altstack()->set_size(ss.size);
  for (int which = 0; which < 3; ++which) {
    kernel_abi::Itimerval it;
    std::memcpy(&it, page.data() + kItimersAt + which * sizeof it, sizeof it);
    auto* timer = core.add_itimers();
    timer->set_which(static_cast<uint32_t>(which));
    timer->set_interval_us(static_cast<uint64_t>(it.interval_sec * 1000000 + it.interval_usec));
    timer->set_value_us(static_cast<uint64_t>(it.value_sec * 1000000 + it.value_usec));
  }
  uint64_t tid_address;
  std::memcpy(&tid_address, page.data() + kTidAddressAt, sizeof tid_address);
  thread_core.set_clear_child_tid(tid_address);
  int32_t pdeath, subreaper;
  std::memcpy(&pdeath, page.data() + kPdeathsigAt, sizeof pdeath);
  std::memcpy(&subreaper, page.data() + kSubreaperAt, sizeof subreaper);
  state.pdeath_signal = pdeath;
  thread_core.set_pdeath_signal(pdeath);
  int32_t tsc;
  std::memcpy(&tsc, page.data() + kTscAt, sizeof tsc);
  thread_core.set_tsc_mode(tsc);
  state.child_subreaper = subreaper != 0;
  return state;
}

}  // namespace cryo::dump
