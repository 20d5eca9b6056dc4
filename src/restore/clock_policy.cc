#include "restore/clock_policy.h"

#include <time.h>

#include "base/duration.h"

namespace cryo::restore {

HostClocks read_host_clocks(const ClockOffsets& own) {
  return {kernel_clock_ns(CLOCK_MONOTONIC, own), kernel_clock_ns(CLOCK_BOOTTIME, own), clock_now_ns(CLOCK_REALTIME)};
}

ClockPlan plan_clock_offsets(const image::Namespaces& ns, ClockPolicy policy, int64_t shift_ns, const HostClocks& now) {
  ClockPlan plan;
  if (policy == ClockPolicy::Elapsed) {
    plan.elapsed_ns = now.realtime_ns - ns.host_clocks().realtime_ns();
    if (plan.elapsed_ns < 0) {
      // The wall clock was set back since the dump; adding a negative interval would make the
      // tree's clocks run backwards, which they never do.
      plan.note = "the wall clock is " + format_duration(-plan.elapsed_ns) + " behind the dump's; adding no elapsed time";
      plan.elapsed_ns = 0;
    }
  }
  RestoreClockInputs in{
      .inside_monotonic_at_dump_ns = ns.clocks_inside().monotonic_ns(),
      .inside_boottime_at_dump_ns = ns.clocks_inside().boottime_ns(),
      .host_monotonic_now_ns = now.monotonic_ns,
      .host_boottime_now_ns = now.boottime_ns,
      .elapsed_ns = plan.elapsed_ns,
      .shift_ns = shift_ns,
  };
  plan.offsets = restore_offsets(in);
  return plan;
}

}  // namespace cryo::restore
