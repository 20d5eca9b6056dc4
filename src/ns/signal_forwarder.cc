#include "ns/signal_forwarder.h"

#include <sys/wait.h>
#include <time.h>

#include <cerrno>
#include <cstring>

#include "base/logging.h"

namespace cryo {

SignalForwarder::SignalForwarder() {
  sigemptyset(&handled_);
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&handled_, signal);
  sigprocmask(SIG_BLOCK, &handled_, &original_mask_);
}

SignalForwarder::~SignalForwarder() { sigprocmask(SIG_SETMASK, &original_mask_, nullptr); }

int shell_exit_status(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

Result<int> SignalForwarder::wait_for_exit(pid_t init, std::chrono::milliseconds grace) {
  auto log = logging::get("ns");
  using Clock = std::chrono::steady_clock;
  bool kill_armed = false;  // By the first signal: SIGKILL at kill_at unless the init is gone.
  Clock::time_point kill_at{};
  int signals_seen = 0;
  while (true) {
    int status = 0;
    pid_t done = ::waitpid(init, &status, WNOHANG);
    if (done < 0 && errno != EINTR) return fail_errno("waitpid(" + std::to_string(init) + ")");
    if (done == init) {
      int exit_status = shell_exit_status(status);
      log->info("init (host pid {}) ended with status {}", init, exit_status);
      return exit_status;
    }

    // Wake up for a signal, or at the end of the grace period. SIGCHLD stays pending when it came
    // before the waitpid above, so no exit is missed.
    timespec wait_time{3600, 0};
    if (kill_armed) {
      auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(kill_at - Clock::now()).count();
      if (left < 0) left = 0;
      wait_time = {static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
    }
    siginfo_t info{};
    int signal = ::sigtimedwait(&handled_, &info, &wait_time);
    if (signal < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return fail_errno("sigtimedwait");
      if (kill_armed && Clock::now() >= kill_at) {
        log->warn("init (host pid {}) still runs {} ms after the signal; sending SIGKILL", init, grace.count());
        ::kill(init, SIGKILL);
        kill_armed = false;
      }
      continue;
    }
    if (signal == SIGCHLD) continue;

    ++signals_seen;
    if (signals_seen >= 2) {
      log->warn("second signal ({}): sending SIGKILL to init (host pid {})", strsignal(signal), init);
      ::kill(init, SIGKILL);
      continue;
    }
    // A signal from the terminal (Ctrl-C, hang-up) goes to the whole foreground process group, the
    // init included; sending it again would make its handler run twice.
    if (info.si_code != SI_KERNEL) {
      log->info("forwarding {} to init (host pid {})", strsignal(signal), init);
      ::kill(init, signal);
    }
    kill_armed = true;
    kill_at = Clock::now() + grace;
  }
}

}  // namespace cryo
