#include "state/thread/scheduling.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/logging.h"

namespace cryo {
namespace {

constexpr int kIoprioWhoProcess = 1;  // IOPRIO_WHO_PROCESS: one thread, by TID.

std::string tid_call(const char* call, pid_t tid) { return std::string(call) + "(tid " + std::to_string(tid) + ")"; }

}  // namespace

Result<image::SchedState> read_sched_state(pid_t tid) {
  SchedAttr attr;
  if (::syscall(SYS_sched_getattr, tid, &attr, sizeof attr, 0) != 0) return fail_errno(tid_call("sched_getattr", tid));
  image::SchedState state;
  state.set_policy(attr.policy);
  state.set_flags(attr.flags);
  state.set_nice(attr.nice);
  if (attr.policy == SCHED_FIFO || attr.policy == SCHED_RR || attr.policy == SCHED_DEADLINE) {
    // sched_getattr reports no nice for these (0), but the thread has one (stat shows it), which
    // becomes its priority again if it returns to SCHED_OTHER.
    errno = 0;
    int nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
    if (nice == -1 && errno != 0) return fail_errno(tid_call("getpriority", tid));
    state.set_nice(nice);
  }
  state.set_priority(attr.priority);
  state.set_runtime_ns(attr.runtime);
  state.set_deadline_ns(attr.deadline);
  state.set_period_ns(attr.period);
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (::sched_getaffinity(tid, sizeof mask, &mask) != 0) return fail_errno(tid_call("sched_getaffinity", tid));
  state.set_affinity(std::string(reinterpret_cast<const char*>(&mask), sizeof mask));
  long ioprio = ::syscall(SYS_ioprio_get, kIoprioWhoProcess, tid);
  if (ioprio < 0) return fail_errno(tid_call("ioprio_get", tid));
  state.set_ioprio(static_cast<uint32_t>(ioprio));
  return state;
}

Result<> apply_sched_state(pid_t tid, const image::SchedState& state, std::string* note) {
  SchedAttr attr;
  attr.policy = state.policy();
  attr.flags = state.flags();
  attr.nice = state.nice();
  attr.priority = state.priority();
  attr.runtime = state.runtime_ns();
  attr.deadline = state.deadline_ns();
  attr.period = state.period_ns();
  if (::syscall(SYS_sched_setattr, tid, &attr, 0) != 0)
    return fail(errno_error(tid_call("sched_setattr", tid)).context("policy " + std::to_string(state.policy()) + ", nice " +
                                                                     std::to_string(state.nice())));
  // sched_setattr sets the nice value only for SCHED_OTHER and SCHED_BATCH: a SCHED_IDLE,
  // SCHED_FIFO, SCHED_RR or SCHED_DEADLINE thread would keep the nice it was created with (cryo's:
  // 10 under `nice cryo restore`), which it reads back with sched_getattr and which becomes its
  // priority again if it returns to SCHED_OTHER.
  bool nice_ignored = state.policy() != SCHED_OTHER && state.policy() != SCHED_BATCH;
  if (nice_ignored && ::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), state.nice()) != 0)
    return fail_errno(tid_call("setpriority", tid));
  if (::syscall(SYS_ioprio_set, kIoprioWhoProcess, tid, static_cast<int>(state.ioprio())) != 0)
    return fail_errno(tid_call("ioprio_set", tid));
  if (!state.affinity().empty()) {
    cpu_set_t mask;
    CPU_ZERO(&mask);
    size_t size = std::min(state.affinity().size(), sizeof mask);
    std::memcpy(&mask, state.affinity().data(), size);
    if (::sched_setaffinity(tid, sizeof mask, &mask) != 0) {
      if (errno != EINVAL) return fail_errno(tid_call("sched_setaffinity", tid));
      // EINVAL: none of the image's CPUs exists here (another host). Running anywhere beats failing.
      *note = "tid " + std::to_string(tid) + " keeps the default CPU mask: none of its CPUs at the dump exists here";
    }
  }
  return {};
}

Result<> restore_sched_state(pid_t host_tid, const image::ThreadCore& thread) {
  if (!thread.has_sched()) return {};
  std::string where = "thread " + std::to_string(thread.tid());
  std::string note;
  RETURN_IF_ERROR_CTX(apply_sched_state(host_tid, thread.sched(), &note), where);
  if (!note.empty()) logging::get("restore")->warn("{}: {}", where, note);
  return {};
}

}  // namespace cryo
