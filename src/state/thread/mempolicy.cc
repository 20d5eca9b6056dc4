#include "state/thread/mempolicy.h"

#include <linux/mempolicy.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/hex.h"

namespace cryo {

namespace {

// get_mempolicy fails unless maxnode covers every node of the host; set_mempolicy reads one bit
// fewer than it is told (a quirk numactl works around the same way).
constexpr uint64_t kNodeBits = 64;
constexpr const char* kOtherNodesHint = "restore on a host with these NUMA nodes (numactl --hardware lists them)";

struct Answer {
  int32_t mode;
  int32_t unused;
  uint64_t nodemask;
};
static_assert(sizeof(Answer) == kMempolicyAnswerSize);

}  // namespace

Result<> ask_mempolicy(RemoteSyscalls& remote, uint64_t at) {
  auto asked = remote.call("get_mempolicy", SYS_get_mempolicy, {at, at + offsetof(Answer, nodemask), kNodeBits, 0, 0});
  if (asked) return {};
  Error e = asked.error();
  // A kernel without NUMA: every thread has the default policy, and the answer stays zero.
  if (e.err == ENOSYS) return {};
  if (e.err == EINVAL) return fail(make_error("the host has more than 64 NUMA nodes, a memory policy which cryo cannot dump"));
  return fail(e);
}

void read_mempolicy(const char* answer, image::ThreadCore& thread) {
  Answer a;
  std::memcpy(&a, answer, sizeof a);
  if (a.mode == MPOL_DEFAULT) return;
  image::MemPolicy* policy = thread.mutable_mempolicy();
  policy->set_mode(static_cast<uint32_t>(a.mode));
  policy->set_nodemask(a.nodemask);
}

Result<> restore_mempolicy(RemoteTask& task, const image::ThreadCore& thread) {
  // The default is set too: the leader's policy is set before it clones the other threads, which
  // inherit it. A kernel without NUMA (ENOSYS) has no other policy to undo.
  if (!thread.has_mempolicy()) {
    auto set = task.call("set_mempolicy(MPOL_DEFAULT)", SYS_set_mempolicy, {MPOL_DEFAULT, 0, 0});
    if (!set && set.error().err != ENOSYS) return fail(set.error().context("thread " + std::to_string(thread.tid())));
    return {};
  }
  const image::MemPolicy& policy = thread.mempolicy();
  std::string where = "thread " + std::to_string(thread.tid()) + ": memory policy " + hex(policy.mode()) + " on nodes " + hex(policy.nodemask());
  task.reset_scratch();
  uint64_t nodemask = policy.nodemask();
  ASSIGN_OR_RETURN_CTX(uint64_t mask_at, task.put(&nodemask, sizeof nodemask), where);
  bool local = (policy.mode() & ~static_cast<uint32_t>(MPOL_MODE_FLAGS)) == MPOL_LOCAL;
  auto set = task.call("set_mempolicy", SYS_set_mempolicy, {policy.mode(), local ? 0 : mask_at, local ? 0 : kNodeBits + 1});
  if (!set) {
    Error e = set.error().context(where);
    if (e.err == EINVAL) e = e.with_hint(kOtherNodesHint);
    if (e.err == ENOSYS) e = e.with_hint("restore on a kernel with NUMA (CONFIG_NUMA)");
    return fail(e);
  }
  Answer blank{};
  ASSIGN_OR_RETURN_CTX(uint64_t answer_at, task.put(&blank, sizeof blank), where);
  RETURN_IF_ERROR_CTX(ask_mempolicy(task.syscalls(), answer_at), where);
  ASSIGN_OR_RETURN_CTX(std::string area, task.read_scratch(), where);
  image::ThreadCore now;
  read_mempolicy(area.data() + (answer_at - task.scratch()), now);
  if (now.mempolicy().mode() != policy.mode() || now.mempolicy().nodemask() != policy.nodemask())
    return fail(make_error(where + ": the kernel made it " + hex(now.mempolicy().mode()) + " on nodes " + hex(now.mempolicy().nodemask()))
                    .with_hint(kOtherNodesHint));
  return {};
}

}  // namespace cryo
