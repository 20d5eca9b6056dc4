#include "dump/fd_owners.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <set>

#include "base/unique_fd.h"
#include "kernel/proc_status.h"

namespace cryo::dump {
namespace {

std::string owner_type_name(int type) {
  switch (type) {
    case F_OWNER_TID: return "thread";
    case F_OWNER_PID: return "process";
    case F_OWNER_PGRP: return "process group";
    default: return "owner of type " + std::to_string(type);
  }
}

}  // namespace

Result<> collect_fd_owner(int pidfd, image::Fd& out) {
  // An O_PATH fd has neither (fcntl refuses both with EBADF).
  if (out.flags() & O_PATH) return {};
  UniqueFd copy(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, out.fd(), 0)));
  if (!copy.valid()) return fail_errno("pidfd_getfd(" + std::to_string(out.fd()) + ")");
  f_owner_ex owner{};
  if (::fcntl(copy.get(), F_GETOWN_EX, &owner) != 0) return fail_errno("fcntl(F_GETOWN_EX)");
  int signal = ::fcntl(copy.get(), F_GETSIG);
  if (signal < 0) return fail_errno("fcntl(F_GETSIG)");
  out.set_signal(signal);
  if (owner.pid != 0) {
    out.mutable_owner()->set_type(owner.type);
    out.mutable_owner()->set_pid(owner.pid);  // cryo's view until translate_fd_owners.
  }
  return {};
}

Result<> translate_fd_owners(std::map<pid_t, image::ProcessFiles>& files, const std::map<pid_t, uint32_t>& inside,
                             const PidTranslation& pids) {
  // The processes that hold each shared open file.
  std::map<uint64_t, std::set<pid_t>> holders;
  for (auto& [pid, process] : files)
    for (const auto& fd : process.fds())
      if (fd.open_file_id() != 0) holders[fd.open_file_id()].insert(pid);
  for (auto& [pid, process] : files)
    for (auto& fd : *process.mutable_fds()) {
      if (!fd.has_owner()) continue;
      auto* owner = fd.mutable_owner();
      pid_t host = owner->pid();
      std::string what = "pid " + std::to_string(inside.at(pid)) + " fd " + std::to_string(fd.fd()) + ": its O_ASYNC owner, " +
                         owner_type_name(owner->type()) + " " + std::to_string(host) + " (host PID)";
      auto outside = [&]() {
        return fail(make_error(what + ", is not in the tree (outside it, or gone), which cryo cannot restore")
                        .with_hint("clear it with fcntl(F_SETOWN, 0) or make the owner a process of the tree"));
      };
      if (owner->type() == F_OWNER_PGRP) {
        // Any process of the group tells the group's ID inside; the leader may be gone.
        uint32_t in_tree = 0;
        for (const auto& [member, unused] : inside) {
          auto status = read_proc_status(member);
          if (!status || status->ns_pgid.empty() || status->ns_pgid.front() != host) continue;
          if (pids.ns_level < status->ns_pgid.size()) in_tree = static_cast<uint32_t>(status->ns_pgid[pids.ns_level]);
          break;
        }
        if (in_tree == 0) return outside();
        owner->set_pid(static_cast<int32_t>(in_tree));
        continue;
      }
      auto status = read_proc_status(host);
      if (!status || !inside.count(status->tgid)) return outside();
      uint32_t in_tree = pids.inside(*status);
      if (in_tree == 0) return outside();
      if (owner->type() == F_OWNER_TID && status->tgid != host) {
        bool alone = fd.open_file_id() == 0 ? pid == status->tgid : holders[fd.open_file_id()] == std::set<pid_t>{status->tgid};
        if (!alone)
          return fail(make_error(what + ", is a thread of another process than the fd's, which cryo cannot restore yet")
                          .with_hint("make the owner that process (F_OWNER_PID) or its first thread"));
      }
      owner->set_pid(static_cast<int32_t>(in_tree));
    }
  return {};
}

}  // namespace cryo::dump
