// Pure, apart from the rest of scheduling.cc: the image fuzzer links it (tests/fuzz/CMakeLists.txt).
#include "base/hex.h"
#include "state/thread/scheduling.h"

namespace cryo {
namespace {

constexpr size_t kMaxAffinityBytes = 1024;  // 8192 CPUs: a cpu_set_t is 128 bytes.

}  // namespace

void validate_sched_state(const image::SchedState& s, const image::ProblemSink& problem) {
  // SCHED_OTHER, FIFO, RR, BATCH, IDLE, DEADLINE (4 is unused).
  if (s.policy() > 6 || s.policy() == 4) problem("scheduling policy " + std::to_string(s.policy()) + " is unknown");
  if (s.nice() < -20 || s.nice() > 19) problem("nice " + std::to_string(s.nice()) + " is out of -20..19");
  if (s.priority() > 99) problem("real-time priority " + std::to_string(s.priority()) + " is out of 0..99");
  if (s.affinity().size() > kMaxAffinityBytes) problem("its CPU mask is too large");
  if ((s.ioprio() >> 13) > 3 || (s.ioprio() & 0x1fff) > 7) problem("I/O priority " + hex(s.ioprio()) + " is invalid");
}

}  // namespace cryo
