#include "ptrace/wait_status.h"

#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

namespace cryo {

bool WaitStatus::exited() const { return WIFEXITED(raw_); }
bool WaitStatus::signaled() const { return WIFSIGNALED(raw_); }
bool WaitStatus::stopped() const { return WIFSTOPPED(raw_); }
int WaitStatus::exit_code() const { return WEXITSTATUS(raw_); }
int WaitStatus::term_signal() const { return WTERMSIG(raw_); }
int WaitStatus::stop_signal() const { return WSTOPSIG(raw_) & 0x7f; }
int WaitStatus::ptrace_event() const { return stopped() ? (raw_ >> 16) & 0xff : 0; }
bool WaitStatus::syscall_stop() const { return stopped() && WSTOPSIG(raw_) == (SIGTRAP | 0x80); }
bool WaitStatus::event_stop() const { return ptrace_event() == PTRACE_EVENT_STOP; }

bool WaitStatus::group_stop() const {
  if (!event_stop()) return false;
  int sig = stop_signal();
  return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

bool WaitStatus::signal_delivery_stop() const { return stopped() && ptrace_event() == 0 && !syscall_stop(); }

std::string WaitStatus::describe() const {
  auto sig_name = [](int sig) {
    const char* abbrev = sigabbrev_np(sig);
    return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
  };
  if (exited()) return "exited with " + std::to_string(exit_code());
  if (signaled()) return "killed by " + sig_name(term_signal());
  if (syscall_stop()) return "stopped at a syscall";
  if (event_stop()) return "stopped (ptrace event stop, " + sig_name(stop_signal()) + ")";
  if (ptrace_event()) return "stopped at ptrace event " + std::to_string(ptrace_event());
  if (stopped()) return "stopped by " + sig_name(stop_signal());
  return "status " + std::to_string(raw_);
}

}  // namespace cryo
