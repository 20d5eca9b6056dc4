// Pure, apart from the rest of signals.cc: the image fuzzer links it (tests/fuzz/CMakeLists.txt).
#include <signal.h>

#include <cstring>
#include <set>

#include "base/hex.h"
#include "state/process/signals.h"

namespace cryo {
namespace {

constexpr size_t kSiginfoSize = 128;
constexpr uint64_t kCanonicalLimit = 0x800000000000;

bool is_siginfo(const std::string& info) {
  int signo = 0;
  if (info.size() == kSiginfoSize) std::memcpy(&signo, info.data(), sizeof signo);
  return info.size() == kSiginfoSize && signo >= 1 && signo <= 64;
}

}  // namespace

void validate_signals(const image::ProcessCore& core, const image::ProblemSink& problem) {
  using image::is_user_address;
  for (const auto& t : core.threads()) {
    std::string thread = "thread " + std::to_string(t.tid());
    for (const auto& info : t.pending())
      if (!is_siginfo(info)) problem(thread + ": a pending signal record is malformed");
    const auto& ss = t.altstack();
    if (!(ss.flags() & SS_DISABLE) && (ss.sp() == 0 || !is_user_address(ss.sp()) || ss.size() > kCanonicalLimit ||
                                       !is_user_address(ss.sp() + ss.size() - 1)))
      problem(thread + ": signal stack " + hex(ss.sp()) + "+" + std::to_string(ss.size()) + " is outside user space");
  }
  for (const auto& info : core.shared_pending())
    if (!is_siginfo(info)) problem("a process-wide pending signal record is malformed");
  std::set<uint32_t> seen;
  for (const auto& a : core.sigactions()) {
    if (a.signo() < 1 || a.signo() > 64 || a.signo() == SIGKILL || a.signo() == SIGSTOP || !seen.insert(a.signo()).second)
      problem("signal action for signal " + std::to_string(a.signo()) + " is invalid or repeated");
    if (a.handler() > 1 && !is_user_address(a.handler()))
      problem("handler of signal " + std::to_string(a.signo()) + " at " + hex(a.handler()) + " is outside user space");
    if (!is_user_address(a.restorer())) problem("restorer of signal " + std::to_string(a.signo()) + " is outside user space");
  }
}

}  // namespace cryo
