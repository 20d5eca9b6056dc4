// SIGINT, SIGTERM and SIGHUP during a dump or a restore. They are blocked for the whole command, so
// none can end cryo at an arbitrary moment (with a tracee's registers pointing at injected code, or
// half a tree restored), and taken at safe points (between injected calls, between processes) as an
// error that unwinds through the cleanup of whatever is under way: the Freezer resumes the tree, the
// image writer removes its temporary directory, restore kills what it created.
#pragma once

#include <signal.h>

#include <string>

#include "base/error.h"

namespace cryo {

class InterruptSignals {
 public:
  // Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (cryo has one while it dumps or restores).
  InterruptSignals();
  // Discards those that came after the last check (the command is over) and restores the mask.
  ~InterruptSignals();
  InterruptSignals(const InterruptSignals&) = delete;
  InterruptSignals& operator=(const InterruptSignals&) = delete;

 private:
  sigset_t previous_;
};

// Blocks SIGINT, SIGTERM and SIGHUP for the rest of cryo's life. A command calls it first: once its
// work is committed (the image renamed into place and the tree ended, or a restored tree released),
// a late Ctrl-C must not turn its success into a death by signal, with a whole image or a running
// tree behind an exit status that says otherwise. Signals that come after the last check die with
// the process.
void block_interrupt_signals_until_exit();

// Takes a pending SIGINT, SIGTERM or SIGHUP and fails with "interrupted by SIGINT" (errno EINTR).
// Each signal fails one check only, so the cleanup that follows can still run injected calls.
Result<> check_interrupt();

// The signal check_interrupt() took during this command, or 0.
int interrupt_taken();

// "SIGINT", "SIGTERM", "SIGHUP" (or "signal N").
std::string interrupt_signal_name(int signal);

}  // namespace cryo
