#include "restore/clock_policy.h"

#include <gtest/gtest.h>

namespace cryo::restore {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

image::Namespaces dumped_at(int64_t inside_monotonic, int64_t inside_boottime, int64_t host_realtime) {
  image::Namespaces ns;
  ns.mutable_clocks_inside()->set_monotonic_ns(inside_monotonic);
  ns.mutable_clocks_inside()->set_boottime_ns(inside_boottime);
  ns.mutable_host_clocks()->set_realtime_ns(host_realtime);
  return ns;
}

TEST(RestoreClockPolicy, FreezeContinuesFromTheDumpedReadings) {
  // The tree saw 49 days of boottime at the dump; this host has been up 100 s.
  auto ns = dumped_at(1000 * kSecond, 49 * 86400 * kSecond, 5000 * kSecond);
  HostClocks now{100 * kSecond, 110 * kSecond, 9000 * kSecond};
  ClockPlan plan = plan_clock_offsets(ns, ClockPolicy::Freeze, 0, now);
  EXPECT_EQ(plan.offsets.monotonic_ns, 900 * kSecond);
  EXPECT_EQ(plan.offsets.boottime_ns, 49 * 86400 * kSecond - 110 * kSecond);
  EXPECT_EQ(plan.elapsed_ns, 0);
  // Inside = host now + offset = the dumped reading.
  EXPECT_EQ(now.monotonic_ns + plan.offsets.monotonic_ns, 1000 * kSecond);
}

TEST(RestoreClockPolicy, ElapsedAddsTheWallTimeSinceTheDump) {
  auto ns = dumped_at(1000 * kSecond, 2000 * kSecond, 5000 * kSecond);
  HostClocks now{3000 * kSecond, 3000 * kSecond, 5060 * kSecond};
  ClockPlan plan = plan_clock_offsets(ns, ClockPolicy::Elapsed, 0, now);
  EXPECT_EQ(plan.elapsed_ns, 60 * kSecond);
  EXPECT_EQ(now.monotonic_ns + plan.offsets.monotonic_ns, 1060 * kSecond);
  EXPECT_EQ(now.boottime_ns + plan.offsets.boottime_ns, 2060 * kSecond);
}

TEST(RestoreClockPolicy, ShiftAddsOnTopOfEitherPolicy) {
  auto ns = dumped_at(1000 * kSecond, 2000 * kSecond, 5000 * kSecond);
  HostClocks now{10 * kSecond, 10 * kSecond, 5010 * kSecond};
  EXPECT_EQ(plan_clock_offsets(ns, ClockPolicy::Freeze, 3600 * kSecond, now).offsets.monotonic_ns, (1000 - 10 + 3600) * kSecond);
  EXPECT_EQ(plan_clock_offsets(ns, ClockPolicy::Elapsed, -5 * kSecond, now).offsets.boottime_ns, (2000 - 10 + 10 - 5) * kSecond);
}

TEST(RestoreClockPolicy, AWallClockSetBackAddsNothing) {
  auto ns = dumped_at(1000 * kSecond, 2000 * kSecond, 5000 * kSecond);
  HostClocks now{10 * kSecond, 10 * kSecond, 4000 * kSecond};
  ClockPlan plan = plan_clock_offsets(ns, ClockPolicy::Elapsed, 0, now);
  EXPECT_EQ(plan.elapsed_ns, 0);
  EXPECT_FALSE(plan.note.empty());
  EXPECT_EQ(now.monotonic_ns + plan.offsets.monotonic_ns, 1000 * kSecond);
}

}  // namespace
}  // namespace cryo::restore
