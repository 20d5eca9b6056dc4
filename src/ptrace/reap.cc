#include "ptrace/reap.h"

#include <sys/ptrace.h>
#include <sys/wait.h>

#include <cerrno>
#include <thread>

namespace cryo {

std::vector<pid_t> reap_killed(std::vector<pid_t> tids, std::chrono::milliseconds bound) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (!tids.empty() && std::chrono::steady_clock::now() < deadline) {
    for (size_t i = 0; i < tids.size();) {
      int status = 0;
      pid_t got = ::waitpid(tids[i], &status, __WALL | WNOHANG);
      bool done = (got == tids[i] && (WIFEXITED(status) || WIFSIGNALED(status))) || (got < 0 && errno != EINTR);
      if (got == tids[i] && WIFSTOPPED(status)) (void)::ptrace(PTRACE_CONT, tids[i], nullptr, nullptr);
      if (done) {
        tids[i] = tids.back();
        tids.pop_back();
      } else {
        ++i;
      }
    }
    if (!tids.empty()) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return tids;
}

}  // namespace cryo
