#include "state/process/seccomp.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace cryo {
namespace {

// More than the kernel allows on one chain (32768 instructions, each filter counting 4 more).
constexpr uint64_t kMostFilters = 8192;

// The chain of `thread`, oldest first.
Result<std::vector<image::SeccompFilter>> read_filters(Tracee& thread) {
  std::vector<image::SeccompFilter> newest_first;
  for (uint64_t index = 0;; ++index) {
    if (index == kMostFilters) return fail("tid " + std::to_string(thread.tid()) + " has more than " + std::to_string(kMostFilters) + " seccomp filters");
    ASSIGN_OR_RETURN(std::optional<std::string> program, thread.get_seccomp_filter(index));
    if (!program) break;
    image::SeccompFilter filter;
    filter.set_program(std::move(*program));
    ASSIGN_OR_RETURN(uint64_t flags, thread.get_seccomp_filter_flags(index));
    filter.set_flags(flags);
    newest_first.push_back(std::move(filter));
  }
  return std::vector<image::SeccompFilter>(newest_first.rbegin(), newest_first.rend());
}

// A filter that can hand a syscall to a supervisor (SECCOMP_RET_USER_NOTIF) needs the supervisor's
// listener fd, which a restore cannot give back. A program that returns a computed action
// (BPF_RET | BPF_A) might do so too, and cannot be told apart.
Result<> refuse_supervised(const image::SeccompFilter& filter, pid_t tid) {
  const std::string& program = filter.program();
  for (size_t at = 0; at + sizeof(sock_filter) <= program.size(); at += sizeof(sock_filter)) {
    sock_filter insn{};
    std::memcpy(&insn, program.data() + at, sizeof insn);
    if (BPF_CLASS(insn.code) != BPF_RET) continue;
    bool computed = BPF_RVAL(insn.code) != BPF_K;
    if (!computed && (insn.k & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_USER_NOTIF) continue;
    return fail(make_error("tid " + std::to_string(tid) + " has a seccomp filter that " +
                           (computed ? "returns a computed action (BPF_RET|BPF_A)" : "hands syscalls to a supervisor (SECCOMP_RET_USER_NOTIF)") +
                           ", which cryo cannot dump"));
  }
  return {};
}

bool same_filters(const std::vector<image::SeccompFilter>& a, const google::protobuf::RepeatedPtrField<image::SeccompFilter>& b) {
  if (a.size() != static_cast<size_t>(b.size())) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].program() != b[static_cast<int>(i)].program() || a[i].flags() != b[static_cast<int>(i)].flags()) return false;
  return true;
}

}  // namespace

Result<> collect_seccomp(std::vector<Tracee>& threads, uint64_t mode, const std::vector<uint64_t>& thread_modes,
                         image::ProcessCore& core) {
  for (size_t i = 0; i < thread_modes.size(); ++i)
    if (thread_modes[i] != mode)
      return fail(make_error("thread " + std::to_string(threads[i + 1].tid()) + " runs under seccomp mode " + std::to_string(thread_modes[i]) +
                             " and its leader under mode " + std::to_string(mode) +
                             ", which cryo cannot dump: restore gives every thread the leader's filters"));
  if (mode == SECCOMP_MODE_DISABLED) return {};
  if (mode != SECCOMP_MODE_FILTER)
    return fail(make_error("it runs under strict seccomp (mode " + std::to_string(mode) + "), which cryo cannot dump"));
  // Before anything is injected: a filter may forbid (or kill on) any syscall the dump injects.
  for (Tracee& thread : threads) RETURN_IF_ERROR(thread.suspend_seccomp());
  ASSIGN_OR_RETURN(std::vector<image::SeccompFilter> filters, read_filters(threads.front()));
  for (const auto& filter : filters) RETURN_IF_ERROR(refuse_supervised(filter, threads.front().tid()));
  for (auto& filter : filters) *core.add_seccomp_filters() = std::move(filter);
  for (size_t i = 1; i < threads.size(); ++i) {
    ASSIGN_OR_RETURN(std::vector<image::SeccompFilter> own, read_filters(threads[i]));
    if (!same_filters(own, core.seccomp_filters()))
      return fail(make_error("thread " + std::to_string(threads[i].tid()) +
                             " runs under seccomp filters other than its leader's, which cryo cannot dump: restore gives every thread the leader's"));
  }
  return {};
}

Result<> restore_seccomp(RemoteTask& task, const image::ProcessCore& core, const std::vector<Tracee*>& threads, int options) {
  for (int i = 0; i < core.seccomp_filters_size(); ++i) {
    const auto& filter = core.seccomp_filters(i);
    task.reset_scratch();
    ASSIGN_OR_RETURN(uint64_t program, task.put(filter.program().data(), filter.program().size()));
    sock_fprog fprog{};
    fprog.len = static_cast<unsigned short>(filter.program().size() / sizeof(sock_filter));
    fprog.filter = reinterpret_cast<sock_filter*>(program);
    ASSIGN_OR_RETURN(uint64_t fprog_at, task.put(&fprog, sizeof fprog));
    std::string what = "seccomp filter " + std::to_string(i) + ": seccomp(SECCOMP_SET_MODE_FILTER, TSYNC)";
    ASSIGN_OR_RETURN(uint64_t refused_by, task.call(what, SYS_seccomp, {SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC | filter.flags(), fprog_at}));
    if (refused_by != 0) return fail(what + ": thread " + std::to_string(refused_by) + " could not take it");
    // From the first filter on, the process's next injected calls pass only with its filters suspended.
    if (i == 0)
      for (Tracee* thread : threads) RETURN_IF_ERROR(thread->suspend_seccomp(options));
  }
  return {};
}

}  // namespace cryo
