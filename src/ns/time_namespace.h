// Time namespaces: offsets for CLOCK_MONOTONIC and CLOCK_BOOTTIME, and the arithmetic that makes a
// restored tree's clocks continue from where they stopped.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace cryo {

struct ClockOffsets {
  int64_t monotonic_ns = 0;
  int64_t boottime_ns = 0;
  bool operator==(const ClockOffsets&) const = default;
};

// Parses /proc/PID/timens_offsets ("monotonic S NS\nboottime S NS\n", names or clock ids).
Result<ClockOffsets> parse_timens_offsets(std::string_view text);
// Formats offsets as /proc/self/timens_offsets takes them.
std::string format_timens_offsets(const ClockOffsets& offsets);

// Reads the offsets of the time namespace PID lives in.
Result<ClockOffsets> read_timens_offsets(pid_t pid);

// unshare(CLONE_NEWTIME) for the caller's future children and writes their offsets. The kernel only
// accepts offsets before the first process enters the namespace, so this must run before the first
// fork/clone that should land in it. An offset the kernel refuses is an error naming the clock.
// The caller must be single-threaded for the later setns-free fork to enter the namespace.
Result<> unshare_time_namespace(const ClockOffsets& offsets);

// Readings of a clock inside (what the tree sees) and outside (the host) a time namespace.
// On restore, the new offset O_new = T_dump - H_now, where T_dump = H_dump + O_dump is what the
// tree saw at the freeze; `elapsed` adds the wall time since the dump, `shift` any further amount.
struct RestoreClockInputs {
  int64_t inside_monotonic_at_dump_ns;
  int64_t inside_boottime_at_dump_ns;
  int64_t host_monotonic_now_ns;
  int64_t host_boottime_now_ns;
  int64_t elapsed_ns;  // 0 for the freeze policy.
  int64_t shift_ns;
};
ClockOffsets restore_offsets(const RestoreClockInputs& in);

// CLOCK_* read now, in nanoseconds, as the caller sees it (shifted by the caller's own time namespace).
int64_t clock_now_ns(int clock_id);

// The offsets of the time namespace cryo itself runs in: zero on the host, and where the kernel has
// no time namespaces. The kernel applies a namespace's offsets to its own clocks, never to the
// caller's, so a cryo started in a container with shifted clocks must take its own offsets out
// before it computes, records or compares the tree's clocks.
Result<ClockOffsets> own_timens_offsets();

// The kernel's CLOCK_MONOTONIC and CLOCK_BOOTTIME (the host's clocks, which every time namespace
// offset applies to), whatever time namespace the caller runs in; `own` is own_timens_offsets().
// Other clocks are not virtualized and read as they are.
int64_t kernel_clock_ns(int clock_id, const ClockOffsets& own);

// a - b, clock by clock.
ClockOffsets offsets_minus(const ClockOffsets& a, const ClockOffsets& b);

}  // namespace cryo
