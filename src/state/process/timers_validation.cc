// Pure, apart from the rest of timers.cc: the image fuzzer links it (tests/fuzz/CMakeLists.txt).
#include <signal.h>
#include <time.h>

#include <set>

#include "state/process/timers.h"

namespace cryo {
namespace {

constexpr int kMaxPosixTimers = 65536;  // Per process; bounds the work an image can ask for.
constexpr uint64_t kMaxTimerNs = uint64_t(1) << 62;  // About 146 years: more is no time a kernel timer holds.

}  // namespace

void validate_timers(const image::ProcessCore& core, const image::ProblemSink& problem) {
  if (core.posix_timers_size() > kMaxPosixTimers) problem("has more than " + std::to_string(kMaxPosixTimers) + " POSIX timers");
  std::set<uint32_t> tids;
  for (const auto& t : core.threads()) tids.insert(t.tid());
  std::set<int32_t> ids;
  for (const auto& t : core.posix_timers()) {
    std::string timer = "POSIX timer " + std::to_string(t.id());
    if (t.id() < 0 || !ids.insert(t.id()).second) problem(timer + " has an invalid or repeated ID");
    if (t.clock_id() != CLOCK_REALTIME && t.clock_id() != CLOCK_MONOTONIC && t.clock_id() != CLOCK_BOOTTIME && t.clock_id() != CLOCK_TAI)
      problem(timer + ": clock " + std::to_string(t.clock_id()) + " is not one cryo restores");
    bool by_thread = t.notify() == (SIGEV_SIGNAL | SIGEV_THREAD_ID);
    if (t.notify() != SIGEV_SIGNAL && t.notify() != SIGEV_NONE && !by_thread)
      problem(timer + ": notification kind " + std::to_string(t.notify()) + " is not one cryo restores");
    if (t.notify() != SIGEV_NONE && (t.signo() < 1 || t.signo() > 64)) problem(timer + ": signal " + std::to_string(t.signo()) + " is not a signal");
    if (by_thread && !tids.count(t.notify_tid())) problem(timer + " signals thread " + std::to_string(t.notify_tid()) + ", not one of the process's");
    if (t.value_ns() > kMaxTimerNs || t.interval_ns() > kMaxTimerNs) problem(timer + ": its time is out of range");
    if (t.read_at_ns() < 0 || static_cast<uint64_t>(t.read_at_ns()) > kMaxTimerNs) problem(timer + ": its clock reading is out of range");
  }
  std::set<uint32_t> which;
  for (const auto& t : core.itimers()) {
    std::string timer = "interval timer " + std::to_string(t.which());
    if (t.which() > 2 || !which.insert(t.which()).second) problem(timer + " is invalid or repeated");
    if (t.value_us() > kMaxTimerNs / 1000 || t.interval_us() > kMaxTimerNs / 1000) problem(timer + ": its time is out of range");
    if (t.read_at_ns() < 0 || static_cast<uint64_t>(t.read_at_ns()) > kMaxTimerNs) problem(timer + ": its clock reading is out of range");
  }
}

}  // namespace cryo
