#include "base/interrupt.h"

#include <cerrno>
#include <ctime>

namespace cryo {
namespace {

int taken = 0;

sigset_t interrupt_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

InterruptSignals::InterruptSignals() {
  sigset_t set = interrupt_set();
  sigprocmask(SIG_BLOCK, &set, &previous_);
  taken = 0;
}

InterruptSignals::~InterruptSignals() {
  sigset_t set = interrupt_set();
  timespec zero{0, 0};
  while (sigtimedwait(&set, nullptr, &zero) > 0) {
  }
  sigprocmask(SIG_SETMASK, &previous_, nullptr);
}

void block_interrupt_signals_until_exit() {
  sigset_t set = interrupt_set();
  sigprocmask(SIG_BLOCK, &set, nullptr);
}

Result<> check_interrupt() {
  sigset_t pending;
  if (sigpending(&pending) != 0) return {};
  sigset_t set = interrupt_set();
  bool any = false;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) any = any || sigismember(&pending, sig);
  if (!any) return {};
  timespec zero{0, 0};
  int sig = sigtimedwait(&set, nullptr, &zero);
  if (sig <= 0) return {};
  taken = sig;
  return fail(Error{"interrupted by " + interrupt_signal_name(sig), EINTR, {}, 1});
}

int interrupt_taken() { return taken; }

std::string interrupt_signal_name(int signal) {
  switch (signal) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: return "signal " + std::to_string(signal);
  }
}

}  // namespace cryo
