// Threads where the kernel may have none to give. Creating one fails with EAGAIN when the system
// or a pids cgroup is out of tasks, as under a fork bomb in the very tree cryo is dumping; an
// uncaught std::system_error would then abort cryo with the tree frozen and its threads in
// cryo's hands. Each caller either does the work itself instead or reports a clear error.
#pragma once

#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "base/error.h"

namespace cryo {

// Runs `work` on a new thread, or here and now where no thread is to be had: the work is done
// either way, only without the overlap. The thread returned is then empty (not joinable).
template <typename Work>
std::thread thread_or_inline(Work work) {
  try {
    return std::thread(work);
  } catch (const std::system_error&) {
    work();
    return {};
  }
}

// Runs `work` on a new thread, for work that must not run on the caller's (it joins a namespace);
// `what` names the work for the error where no thread is to be had.
template <typename Work>
Result<std::thread> start_thread(Work work, const std::string& what) {
  try {
    return std::thread(std::move(work));
  } catch (const std::system_error& e) {
    return fail(make_error("no thread to " + what + ": " + e.code().message())
                    .with_hint("the system is out of tasks (threads-max, pid_max or a pids cgroup); try again when it runs fewer"));
  }
}

}  // namespace cryo
