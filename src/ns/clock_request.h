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

// Offsets for the request, given the kernel's (host's) clocks now and the offsets of the time
// namespace the caller itself runs in. An uptime sets both offsets relative to the kernel's readings
// (offset = uptime - host clock), since the kernel applies offsets to those; an explicit offset for
// a clock wins over it and shifts the clock the caller sees (so from a container whose clocks are
// 10 days ahead, `--boottime 1h` gives a tree 10 days and 1 hour ahead of the host).
ClockOffsets resolve_clock_offsets(const ClockRequest& request, int64_t host_boottime_ns, int64_t host_monotonic_ns,
                                   const ClockOffsets& caller = {});

}  // namespace cryo
