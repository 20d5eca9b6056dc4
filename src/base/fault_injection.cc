#include "base/fault_injection.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

namespace cryo {
namespace {

constexpr std::string_view kSteps[] = {
    // dump (src/dump/dump.cc)
    "dump:pre-copy-round",      // --pre-copy: a round copied pages while the tree runs, with write tracking in place.
    "dump:after-freeze",        // Every task is seized, nothing is written yet.
    "dump:after-process-core",  // The first process's core is read (syscalls were injected into it).
    "dump:after-pages",         // The first process's pages are in the temporary directory.
    "dump:before-commit",       // Every image file is written, the inventory is not.
    "dump:after-commit",        // The image is in place, the tree not yet killed (or already resumed).
    // restore (src/restore/)
    "restore:after-image-check",   // Image and host are checked, nothing is created yet.
    "restore:after-namespaces",    // The time and PID namespaces exist, with the init placeholder.
    "restore:after-placeholders",  // Every placeholder exists with its PID.
    "restore:mid-injection",       // The first process has its memory back but not its state.
    "restore:before-release",      // Every process is restored and still stopped.
    // restore --lazy (src/restore/page_server.h)
    "lazy:registered",  // Every process's lazy memory is registered with the page server, none released.
    "lazy:serving",     // The tree runs and the page server has filled its first batch.
};

}  // namespace

std::span<const std::string_view> fault_steps() { return kSteps; }

Result<> fault_point(std::string_view step) {
  if (std::find(std::begin(kSteps), std::end(kSteps), step) == std::end(kSteps))
    return fail("fault point '" + std::string(step) + "' is not listed in fault_steps()");
  const char* wanted = std::getenv(kFailAtVariable);
  if (wanted == nullptr || step != wanted) return {};
  return fail("injected failure at " + std::string(step));
}

void die_point_in_injected_call() {
  static const long wanted = [] {
    const char* value = std::getenv(kDieAtVariable);
    return value ? std::strtol(value, nullptr, 10) : 0;
  }();
  static long calls = 0;
  if (wanted > 0 && ++calls == wanted) ::kill(::getpid(), SIGKILL);
}

long test_delay_ms(const char* variable) {
  const char* value = std::getenv(variable);
  return value ? std::max(0L, std::strtol(value, nullptr, 10)) : 0;
}

}  // namespace cryo
