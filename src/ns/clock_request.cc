#include "ns/clock_request.h"

namespace cryo {

ClockOffsets resolve_clock_offsets(const ClockRequest& request, int64_t host_boottime_ns, int64_t host_monotonic_ns,
                                   const ClockOffsets& caller) {
  ClockOffsets offsets;
  if (request.uptime_ns) {
    offsets.boottime_ns = *request.uptime_ns - host_boottime_ns;
    offsets.monotonic_ns = *request.uptime_ns - host_monotonic_ns;
  }
  if (request.boottime_offset_ns) offsets.boottime_ns = caller.boottime_ns + *request.boottime_offset_ns;
  if (request.monotonic_offset_ns) offsets.monotonic_ns = caller.monotonic_ns + *request.monotonic_offset_ns;
  return offsets;
}

}  // namespace cryo
