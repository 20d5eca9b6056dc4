// Pure, apart from the rest of rlimits.cc: the image fuzzer links it (tests/fuzz/CMakeLists.txt).
#include <set>

#include "state/process/rlimits.h"

namespace cryo {
namespace {

constexpr uint32_t kRlimitCount = 16;  // RLIM_NLIMITS

}  // namespace

void validate_rlimits(const image::ProcessCore& core, const image::ProblemSink& problem) {
  std::set<uint32_t> seen;
  for (const auto& r : core.rlimits()) {
    if (r.resource() >= kRlimitCount || !seen.insert(r.resource()).second)
      problem("rlimit resource " + std::to_string(r.resource()) + " is unknown or repeated");
    else if (r.cur() > r.max())
      problem("rlimit " + std::to_string(r.resource()) + ": soft limit above the hard limit");
  }
}

}  // namespace cryo
