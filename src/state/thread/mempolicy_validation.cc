// Pure, apart from the rest of mempolicy.cc: the image fuzzer links it (tests/fuzz/CMakeLists.txt).
#include <linux/mempolicy.h>

#include "base/hex.h"
#include "state/thread/mempolicy.h"

namespace cryo {

namespace {
// Newer than Debian 12's headers: Linux 6.9.
constexpr uint32_t kMpolWeightedInterleave = 6;
}  // namespace

void validate_mempolicy(const image::ThreadCore& thread, const image::ProblemSink& problem) {
  if (!thread.has_mempolicy()) return;
  const image::MemPolicy& policy = thread.mempolicy();
  uint32_t mode = policy.mode() & ~static_cast<uint32_t>(MPOL_MODE_FLAGS);
  uint32_t flags = policy.mode() & static_cast<uint32_t>(MPOL_MODE_FLAGS);
  if (mode == MPOL_DEFAULT || mode > kMpolWeightedInterleave) {
    problem("memory policy mode " + hex(policy.mode()) + " is not one set_mempolicy sets");
    return;
  }
  if ((flags & MPOL_F_STATIC_NODES) && (flags & MPOL_F_RELATIVE_NODES))
    problem("memory policy " + hex(policy.mode()) + " has both MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES");
  if (mode != MPOL_LOCAL && policy.nodemask() == 0) problem("memory policy " + hex(policy.mode()) + " has no node");
  if (mode == MPOL_LOCAL && policy.nodemask() != 0) problem("local memory policy has nodes " + hex(policy.nodemask()));
}

}  // namespace cryo
