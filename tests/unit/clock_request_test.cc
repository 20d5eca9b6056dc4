#include "ns/clock_request.h"

#include <gtest/gtest.h>

#include "base/duration.h"

namespace cryo {
namespace {

constexpr int64_t S = kNanosPerSecond;

TEST(ClockRequest, NothingAskedIsNoOffset) {
  EXPECT_EQ(resolve_clock_offsets({}, 100 * S, 90 * S), ClockOffsets{});
}

TEST(ClockRequest, ExplicitOffsetsAreTakenAsGiven) {
  ClockRequest request;
  request.boottime_offset_ns = 36 * 3600 * S;
  request.monotonic_offset_ns = -15 * 60 * S;
  auto offsets = resolve_clock_offsets(request, 100 * S, 90 * S);
  EXPECT_EQ(offsets.boottime_ns, 36 * 3600 * S);
  EXPECT_EQ(offsets.monotonic_ns, -15 * 60 * S);
}

TEST(ClockRequest, UptimeIsRelativeToEachHostClock) {
  ClockRequest request;
  request.uptime_ns = 49 * 86400 * S;
  // The host's boottime runs ahead of monotonic by the time it spent suspended.
  auto offsets = resolve_clock_offsets(request, 5000 * S, 4000 * S);
  EXPECT_EQ(offsets.boottime_ns + 5000 * S, 49 * 86400 * S);
  EXPECT_EQ(offsets.monotonic_ns + 4000 * S, 49 * 86400 * S);
}

TEST(ClockRequest, UptimeBelowHostUptimeIsANegativeOffset) {
  ClockRequest request;
  request.uptime_ns = 10 * S;
  auto offsets = resolve_clock_offsets(request, 5000 * S, 4000 * S);
  EXPECT_EQ(offsets.boottime_ns, -4990 * S);
  EXPECT_EQ(offsets.monotonic_ns, -3990 * S);
}

// From a container whose own clocks are shifted, an offset shifts the clock the caller sees, and an
// uptime is what the tree reads whatever the caller's shift.
TEST(ClockRequest, ExplicitOffsetsAddToTheCallersOwnAndUptimeIgnoresIt) {
  ClockRequest request;
  request.boottime_offset_ns = 3600 * S;
  request.uptime_ns = 100 * S;
  ClockOffsets caller{.monotonic_ns = 864000 * S, .boottime_ns = 864000 * S};
  auto offsets = resolve_clock_offsets(request, 5000 * S, 4000 * S, caller);
  EXPECT_EQ(offsets.boottime_ns, 864000 * S + 3600 * S);
  EXPECT_EQ(offsets.monotonic_ns + 4000 * S, 100 * S);
}

TEST(ClockRequest, ExplicitOffsetWinsOverUptime) {
  ClockRequest request;
  request.uptime_ns = 100 * S;
  request.monotonic_offset_ns = 7 * S;
  auto offsets = resolve_clock_offsets(request, 50 * S, 40 * S);
  EXPECT_EQ(offsets.boottime_ns, 50 * S);
  EXPECT_EQ(offsets.monotonic_ns, 7 * S);
}

}  // namespace
}  // namespace cryo
