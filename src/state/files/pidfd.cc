#include "state/files/pidfd.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>

namespace cryo::state {
namespace {

// PIDFD_THREAD (Linux 6.9) is O_EXCL; the headers of Debian 12 do not have it.
constexpr unsigned kPidfdThread = O_EXCL;

// The parent of each process of the image, by PID in the tree.
std::map<uint32_t, uint32_t> parents_of(const ImageSet& set) {
  std::map<uint32_t, uint32_t> parents;
  for (const auto& process : set.processes) parents[process.pid()] = process.entry.ppid();
  return parents;
}

// Whether `other` is `pid` itself, one of its ancestors or one of its descendants.
bool in_line_of(uint32_t pid, uint32_t other, const std::map<uint32_t, uint32_t>& parents) {
  auto reaches = [&](uint32_t from, uint32_t to) {
    for (size_t steps = 0; steps <= parents.size(); ++steps) {
      if (from == to) return true;
      auto up = parents.find(from);
      if (up == parents.end() || up->second == from) return false;
      from = up->second;
    }
    return false;  // A loop: plan_tree names it.
  };
  return reaches(pid, other) || reaches(other, pid);
}

}  // namespace

Result<> collect_pidfd(const FdCollect& in, image::Fd& out) {
  if (!in.info.pidfd_pid) return fail("fdinfo of the pidfd shows no Pid");
  if (*in.info.pidfd_pid == -1)
    return fail(make_error("is a pidfd of a process that exited and was reaped, which cryo cannot dump")
                    .with_hint("close it once the process is waited for"));
  if (*in.info.pidfd_pid == 0) return fail(make_error("is a pidfd of a process outside cryo's PID namespace, which cryo cannot dump"));
  out.mutable_pidfd()->set_pid(static_cast<uint32_t>(*in.info.pidfd_pid));
  return {};
}

void validate_pidfd(const image::Fd& fd, const std::set<int>&, const std::string& name, std::vector<std::string>* problems) {
  if (fd.pidfd().pid() == 0 || fd.pidfd().pid() > (1u << 22)) problems->push_back(name + ": pidfd of pid " + std::to_string(fd.pidfd().pid()) + " is out of range");
}

void validate_pidfd_targets(const ImageSet& set, std::vector<std::string>* problems) {
  auto parents = parents_of(set);
  std::map<uint64_t, uint32_t> holder;  // open_file_id -> the one process that holds it.
  for (const auto& process : set.processes)
    for (const auto& fd : process.files.fds()) {
      if (fd.kind() != image::FD_PIDFD) continue;
      std::string name = "pid " + std::to_string(process.pid()) + ": fd " + std::to_string(fd.fd());
      uint32_t target = fd.pidfd().pid();
      if (!parents.count(target)) problems->push_back(name + ": pidfd of pid " + std::to_string(target) + ", which is not in the image");
      else if (!in_line_of(process.pid(), target, parents))
        problems->push_back(name + ": pidfd of pid " + std::to_string(target) + ", neither the holder nor an ancestor or descendant of it");
      if (fd.open_file_id() == 0) continue;
      auto [it, fresh] = holder.emplace(fd.open_file_id(), process.pid());
      if (!fresh && it->second != process.pid())
        problems->push_back(name + ": pidfd shares its open file with pid " + std::to_string(it->second) + ", which restore cannot make");
    }
}

Result<int> install_pidfd(const image::Fd& fd, const FdInstall&) {
  unsigned flags = (fd.flags() & kPidfdThread) ? kPidfdThread : 0;
  int made = static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(fd.pidfd().pid()), flags));
  if (made < 0) return fail_errno("pidfd_open(" + std::to_string(fd.pidfd().pid()) + (flags ? ", PIDFD_THREAD)" : ")"));
  return made;
}

}  // namespace cryo::state
