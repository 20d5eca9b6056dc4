// Pure, apart from the rest of seccomp.cc: the image fuzzer links it (tests/fuzz/CMakeLists.txt).
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "state/process/seccomp.h"

namespace cryo {

void validate_seccomp(const image::ProcessCore& core, const image::ProblemSink& problem) {
  // The kernel's limits: BPF_MAXINSNS a program, MAX_INSNS_PER_PATH along a chain, where each
  // filter counts 4 instructions more.
  constexpr uint64_t kMaxInsnsPerPath = 32768;
  uint64_t path = 0;
  for (int i = 0; i < core.seccomp_filters_size(); ++i) {
    const auto& filter = core.seccomp_filters(i);
    std::string name = "seccomp filter " + std::to_string(i);
    uint64_t insns = filter.program().size() / sizeof(sock_filter);
    if (filter.program().size() % sizeof(sock_filter) != 0 || insns == 0 || insns > BPF_MAXINSNS)
      problem(name + " has a program of " + std::to_string(filter.program().size()) + " bytes, not 1 to " +
              std::to_string(BPF_MAXINSNS) + " instructions of " + std::to_string(sizeof(sock_filter)) + " bytes");
    if ((filter.flags() & ~static_cast<uint64_t>(SECCOMP_FILTER_FLAG_LOG)) != 0)
      problem(name + " has flags " + std::to_string(filter.flags()) + " beyond SECCOMP_FILTER_FLAG_LOG");
    path += insns + 4;
  }
  if (path > kMaxInsnsPerPath)
    problem("the seccomp filters hold " + std::to_string(path) + " instructions along their chain, more than the kernel's " +
            std::to_string(kMaxInsnsPerPath));
}

}  // namespace cryo
