// What the user asked of the clocks of a new tree (`cryo run --boottime/--monotonic/--uptime`), and
// the time namespace offsets that give it.
#pragma once

#include <cstdint>
#include <optional>

#include "ns/time_namespace.h"

namespace cryo {

struct ClockRequest {
  std::optional<int64_t> boottime_offset_ns;   // --boottime: added to CLOCK_BOOTTIME
  std::optional<int64_t> monotonic_offset_ns;  // --monotonic: added to CLOCK_MONOTONIC
  // --uptime: CLOCK_BOOTTIME (and so /proc/uptime) and CLOCK_MONOTONIC read this at start.
  std::optional<int64_t> uptime_ns;
};

// Offsets for the request, given the host clocks now. An uptime sets both offsets relative to the
// host's own readings (offset = uptime - host clock); an explicit offset for a clock wins over it.
ClockOffsets resolve_clock_offsets(const ClockRequest& request, int64_t host_boottime_ns, int64_t host_monotonic_ns);

}  // namespace cryo
