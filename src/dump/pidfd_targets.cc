#include "dump/pidfd_targets.h"

#include <string>

#include "kernel/proc_status.h"

namespace cryo::dump {

Result<> translate_pidfd_targets(std::map<pid_t, image::ProcessFiles>& files, const std::map<pid_t, uint32_t>& inside,
                                 const PidTranslation& pids) {
  std::map<uint64_t, pid_t> holder;  // open_file_id -> the first process seen holding it.
  for (auto& [pid, process] : files)
    for (auto& fd : *process.mutable_fds()) {
      if (fd.kind() != image::FD_PIDFD) continue;
      pid_t host = static_cast<pid_t>(fd.pidfd().pid());
      std::string what = "pid " + std::to_string(inside.at(pid)) + " fd " + std::to_string(fd.fd()) + " is a pidfd of host PID " +
                         std::to_string(host);
      auto status = read_proc_status(host);
      if (!status || !inside.count(status->tgid))
        return fail(make_error(what + ", a process outside the tree (or gone), which cryo cannot dump"));
      if (status->tgid != host)
        return fail(make_error(what + ", a thread other than its process's main thread (PIDFD_THREAD), which cryo cannot dump"));
      if (!in_line_of_descent(pid, host) && !in_line_of_descent(host, pid))
        return fail(make_error(what + ", neither the holder nor an ancestor or descendant of it, which cryo cannot dump")
                        .with_hint("a process can hold pidfds of itself, its ancestors and its descendants"));
      if (fd.open_file_id() != 0) {
        auto [it, fresh] = holder.emplace(fd.open_file_id(), pid);
        if (!fresh && it->second != pid)
          return fail(make_error(what + ", shared with pid " + std::to_string(inside.at(it->second)) +
                                 " (inherited by fork), which cryo cannot dump"));
      }
      uint32_t in_tree = pids.inside(*status);
      if (in_tree == 0) return fail(make_error(what + ", which has no PID in the tree's namespace, which cryo cannot dump"));
      fd.mutable_pidfd()->set_pid(in_tree);
    }
  return {};
}

}  // namespace cryo::dump
