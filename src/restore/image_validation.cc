#include "restore/image_validation.h"

#include <cctype>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <time.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <set>

#include "base/hex.h"
#include "restore/cgroups.h"
#include "state/files/epoll.h"
#include "state/files/fd_kinds.h"
#include "state/files/namespace_file.h"
#include "state/files/netlink_socket.h"
#include "state/files/pidfd.h"
#include "state/files/pipe.h"
#include "state/files/proc_file.h"
#include "state/process/creds.h"
#include "state/process/job_control_stop.h"
#include "state/process/mm_fields.h"
#include "state/process/rlimits.h"
#include "state/process/seccomp.h"
#include "state/process/signals.h"
#include "state/process/task_flags.h"
#include "state/process/timers.h"
#include "state/thread/registers.h"
#include "state/thread/mempolicy.h"
#include "state/thread/registrations.h"
#include "state/thread/rseq.h"
#include "state/thread/scheduling.h"

namespace cryo::restore {
namespace {

constexpr int kMaxThreads = 4096;

class Problems {
 public:
  Problems(std::string where, std::vector<std::string>* out) : where_(std::move(where)), out_(out) {}
  void add(const std::string& text) { out_->push_back(where_ + ": " + text); }

 private:
  std::string where_;
  std::vector<std::string>* out_;
};

void validate_thread(const image::ThreadCore& t, uint64_t xsave_features, Problems& p) {
  std::string thread = "thread " + std::to_string(t.tid());
  auto thread_problem = [&](const std::string& text) { p.add(thread + ": " + text); };
  validate_registers(t, xsave_features, thread_problem);
  validate_rseq(t, thread_problem);
  validate_registrations(t, thread_problem);
  validate_mempolicy(t, thread_problem);
  if (t.comm().size() > 15) p.add(thread + ": comm '" + t.comm() + "' is longer than 15 bytes");
  if (t.comm().find('\0') != std::string::npos) p.add(thread + ": comm holds a NUL byte");
  if (t.has_sched()) validate_sched_state(t.sched(), thread_problem);
}

// Holders of one open file read its state at one freeze, so it must agree (as its kind compares it).
bool same_kind_state(const image::Fd& a, const image::Fd& b) {
  const state::FdKindOps* ops = state::find_fd_kind(a.kind());
  return !ops || !ops->same_state || ops->same_state(a, b);
}

}  // namespace

void validate_core(const ProcessImage& process, uint64_t xsave_features, std::vector<std::string>* problems) {
  Problems p("pid " + std::to_string(process.pid()), problems);
  const auto& core = process.core;
  if (core.pid() != process.pid()) p.add("core image is of pid " + std::to_string(core.pid()));
  if (core.threads_size() != process.entry.threads_size()) {
    p.add("core image has " + std::to_string(core.threads_size()) + " threads, the tree " +
          std::to_string(process.entry.threads_size()));
  } else {
    for (int i = 0; i < core.threads_size(); ++i)
      if (core.threads(i).tid() != process.entry.threads(i))
        p.add("thread " + std::to_string(i) + " is tid " + std::to_string(core.threads(i).tid()) + " in the core image but " +
              std::to_string(process.entry.threads(i)) + " in the tree");
  }
  if (core.threads_size() > kMaxThreads)
    p.add("has " + std::to_string(core.threads_size()) + " threads, more than the " + std::to_string(kMaxThreads) + " cryo restores");
  for (const auto& t : core.threads()) validate_thread(t, xsave_features, p);
  if (core.comm().size() > 15) p.add("comm '" + core.comm() + "' is longer than 15 bytes");
  if (core.exit_signal() > 64) p.add("exit signal " + std::to_string(core.exit_signal()) + " is not a signal");

  auto problem = [&p](const std::string& text) { p.add(text); };
  validate_creds(core.creds(), problem);
  validate_rlimits(core, problem);
  validate_seccomp(core, problem);
  validate_signals(core, problem);
  validate_timers(core, problem);
  validate_mm_fields(core.mm(), problem);
  validate_task_flags(core, problem);
  validate_job_control_stop(core, problem);
}

void validate_files(const ProcessImage& process, const image::Pipes& pipes, std::vector<std::string>* problems) {
  Problems p("pid " + std::to_string(process.pid()), problems);
  std::map<uint64_t, const image::PipeEntry*> pipe_ids;
  for (const auto& pipe : pipes.pipes()) pipe_ids.emplace(pipe.pipe_id(), &pipe);
  std::set<int> numbers;
  if (process.files.fds_size() > kMaxFdNumber) p.add("has too many file descriptors");
  for (const auto& fd : process.files.fds()) numbers.insert(fd.fd());
  std::set<int> seen;
  for (const auto& fd : process.files.fds()) {
    std::string name = "fd " + std::to_string(fd.fd());
    if (fd.fd() < 0 || fd.fd() >= kMaxFdNumber) p.add(name + " is out of range");
    if (!seen.insert(fd.fd()).second) p.add(name + " appears twice");
    if ((fd.flags() & O_ACCMODE) == O_ACCMODE) p.add(name + ": access mode in flags " + hex(fd.flags()) + " is invalid");
    std::vector<std::string> lock_problems;
    validate_fd_status(fd, name, &lock_problems);
    validate_file_locks(fd, name, &lock_problems);
    for (const auto& problem : lock_problems) p.add(problem);
    const state::FdKindOps* ops = state::find_fd_kind(fd.kind());
    if (!ops) {
      p.add(name + ": unknown kind " + std::to_string(static_cast<int>(fd.kind())));
      continue;
    }
    if (ops->validate) {
      std::vector<std::string> state_problems;
      ops->validate(fd, numbers, name, &state_problems);
      for (const auto& problem : state_problems) p.add(problem);
      continue;
    }
    // The kinds whose validation is not under state/files/ yet.
    switch (fd.kind()) {
      case image::FD_REGULAR:
      case image::FD_DIRECTORY:
      case image::FD_CHARDEV:
        if (!is_clean_absolute_path(fd.path())) p.add(name + ": path '" + fd.path() + "' is not a clean absolute path");
        break;
      case image::FD_MEMFD:
      case image::FD_DELETED_FILE:
        break;  // The path is only for messages; validate_objects checks the object.
      case image::FD_PROC_FILE:
        break;  // state::validate_proc_files checks its path against the tree's PIDs.
      case image::FD_NAMESPACE:
        break;  // state::validate_namespace_files checks its type against namespaces.img.
      case image::FD_POSIX_MQUEUE:
        break;  // validate_posix_mqueues checks it against its queue.
      case image::FD_PIPE: {
        std::vector<std::string> pipe_problems;
        state::validate_pipe_fd(fd, pipe_ids, name, &pipe_problems);
        for (const auto& problem : pipe_problems) p.add(problem);
        break;
      }
      default: {
        std::vector<std::string> state_problems;
        validate_fd_state(fd, &state_problems);
        for (const auto& problem : state_problems) p.add(problem);
        break;
      }
    }
  }
  if (!is_clean_absolute_path(process.files.cwd()))
    p.add("working directory '" + process.files.cwd() + "' is not a clean absolute path");
  if (!is_clean_absolute_path(process.files.root()))
    p.add("root directory '" + process.files.root() + "' is not a clean absolute path");
}

TreePlan validate_image(const ImageSet& set, std::vector<std::string>* problems) {
  const auto& inv = set.inventory;
  if (inv.arch() != "x86_64") problems->push_back("the image is of architecture '" + inv.arch() + "'; cryo restores x86_64 only");
  if (inv.has_source_tree()) {
    const auto& source = inv.source_tree();
    // A boot id is a UUID; anything else cannot be compared with this host's and is not cryo's.
    bool uuid = source.boot_id().size() == 36;
    for (char c : source.boot_id()) uuid = uuid && (std::isxdigit(static_cast<unsigned char>(c)) || c == '-');
    if (!uuid) problems->push_back("the source tree's boot id '" + source.boot_id().substr(0, 64) + "' is not a UUID");
    if (source.pidns_inode() == 0) problems->push_back("the source tree's PID namespace inode is 0");
    if (source.init_start_time() == 0) problems->push_back("the source tree's init start time is 0");
  }
  if (inv.process_count() != set.processes.size())
    problems->push_back("the inventory counts " + std::to_string(inv.process_count()) + " processes, the tree has " +
                        std::to_string(set.processes.size()));
  const auto& ns = set.namespaces;
  if (!ns.own_pid()) problems->push_back("the tree did not have its own PID namespace");
  const std::pair<bool, const char*> unsupported[] = {
      {ns.own_user(), "user"}, {ns.own_net(), "network"}, {ns.own_cgroup(), "cgroup"}};
  for (const auto& [own, name] : unsupported)
    if (own) problems->push_back(std::string("the tree had its own ") + name + " namespace, which cryo cannot restore yet");
  if (ns.own_uts() && ns.hostname().size() > 64) problems->push_back("hostname '" + ns.hostname() + "' is longer than 64 bytes");

  std::vector<image::ProcessEntry> entries;
  entries.reserve(set.processes.size());
  for (const auto& process : set.processes) entries.push_back(process.entry);
  TreePlan plan = plan_tree(entries, problems);

  state::validate_pipes(set.pipes, problems);

  // Fds that share an open file must agree on what it is: it is opened once for all of them.
  std::map<uint64_t, std::pair<uint32_t, const image::Fd*>> open_files;
  for (const auto& process : set.processes) {
    for (const auto& fd : process.files.fds()) {
      if (fd.open_file_id() == 0) continue;
      auto [it, fresh] = open_files.emplace(fd.open_file_id(), std::make_pair(process.pid(), &fd));
      if (fresh) continue;
      const image::Fd& first = *it->second.second;
      bool same = first.kind() == fd.kind() && first.path() == fd.path() && (first.flags() & ~O_CLOEXEC) == (fd.flags() & ~O_CLOEXEC) &&
                  first.pos() == fd.pos() && first.pipe_id() == fd.pipe_id() && first.pipe_write_end() == fd.pipe_write_end() &&
                  first.object_id() == fd.object_id() && first.signal() == fd.signal() && first.has_owner() == fd.has_owner() &&
                  first.owner().type() == fd.owner().type() && first.owner().pid() == fd.owner().pid() && same_kind_state(first, fd);
      if (!same)
        problems->push_back("pid " + std::to_string(process.pid()) + ": fd " + std::to_string(fd.fd()) + " shares open file " +
                            std::to_string(fd.open_file_id()) + " with fd " + std::to_string(first.fd()) + " of pid " +
                            std::to_string(it->second.first) + " but differs from it");
    }
  }

  state::validate_epoll_watch_holders(set, problems);
  state::validate_pidfd_targets(set, problems);
  validate_objects(set, problems);
  validate_sysv(set, problems);
  validate_posix_mqueues(set, problems);
  validate_socket_pairs(set, problems);
  state::validate_netlink_sockets(set, problems);
  validate_fd_owners(set, problems);
  state::validate_proc_files(set, problems);
  state::validate_namespace_files(set, problems);
  validate_host_files(set, problems);
  validate_fingerprint_presence(set, problems);
  // Shared anonymous memory that is no memory object (images written before memory objects) is
  // only recreated within one process.
  std::map<uint64_t, uint32_t> shmem_owner;
  for (const auto& process : set.processes) {
    if (process.zombie()) continue;
    validate_core(process, inv.xsave_features(), problems);
    validate_cgroups(process.core, problems);
    validate_memory(process, problems);
    validate_files(process, set.pipes, problems);
    validate_fingerprint(process, problems);
    for (const auto& vma : process.mm.vmas()) {
      if (vma.kind() != image::VMA_ANON_SHARED || vma.object_id() != 0) continue;
      auto [it, fresh] = shmem_owner.emplace(vma.shmid(), process.pid());
      if (!fresh && it->second != process.pid())
        problems->push_back("pid " + std::to_string(process.pid()) + " shares anonymous memory " + std::to_string(vma.shmid()) +
                            " with pid " + std::to_string(it->second) + "; restoring memory shared between processes is not supported yet");
    }
  }
  return plan;
}

}  // namespace cryo::restore
