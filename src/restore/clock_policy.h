// The time namespace offsets of a restored tree, from the clocks it saw at the dump and the policy the
// user chose (docs/design.md, "Mechanisms": clocks).
#pragma once

#include <cstdint>
#include <string>

#include "namespaces.pb.h"
#include "ns/time_namespace.h"

namespace cryo::restore {

enum class ClockPolicy {
  Freeze,   // CLOCK_MONOTONIC and CLOCK_BOOTTIME continue from their values at the freeze.
  Elapsed,  // ... plus the wall-clock time that passed between dump and restore.
};

struct HostClocks {
  int64_t monotonic_ns = 0;
  int64_t boottime_ns = 0;
  int64_t realtime_ns = 0;
};
// The host's (kernel's) clocks now, with `own` (the offsets of cryo's own time namespace) taken out:
// a new namespace's offsets apply to these, not to the clocks cryo sees.
HostClocks read_host_clocks(const ClockOffsets& own);

struct ClockPlan {
  ClockOffsets offsets;
  int64_t elapsed_ns = 0;  // Wall time added (0 with Freeze).
  std::string note;        // Something worth logging, e.g. the wall clock went backwards.
};

ClockPlan plan_clock_offsets(const image::Namespaces& ns, ClockPolicy policy, int64_t shift_ns, const HostClocks& now);

}  // namespace cryo::restore
