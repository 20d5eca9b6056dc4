#include "state/files/epoll.h"

#include <linux/kcmp.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <utility>

#include "base/unique_fd.h"

namespace cryo::state {
namespace {

constexpr int kMaxWatches = 1 << 20;  // NR_OPEN: one watch per fd number at most.
constexpr uint32_t kEpollEventBits = EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDNORM | EPOLLRDBAND |
                                     EPOLLWRNORM | EPOLLWRBAND | EPOLLMSG | EPOLLRDHUP | EPOLLEXCLUSIVE | EPOLLWAKEUP |
                                     EPOLLONESHOT | EPOLLET;

// kcmp(KCMP_EPOLL_TFD) compares fd `target` of pid with the file the epoll set `epoll_fd` watches
// under that number (the `nth` such entry): 0 when they are the same file.
struct KcmpEpollSlot {
  uint32_t efd;
  uint32_t tfd;
  uint32_t toff;
};

// Why fd `target` of pid does not name the file the set `epoll_fd` watches under that number (the
// `nth` such entry), or "" when it does.
Result<std::string> unnamed_watch(pid_t pid, int epoll_fd, int target, uint32_t nth) {
  KcmpEpollSlot slot{static_cast<uint32_t>(epoll_fd), static_cast<uint32_t>(target), nth};
  long order = ::syscall(SYS_kcmp, pid, pid, KCMP_EPOLL_TFD, target, &slot);
  if (order == 0) return std::string();
  std::string fd = "fd " + std::to_string(target);
  if (order < 0 && errno == EBADF) return fd + " is closed";
  if (order < 0) return fail(errno_error("kcmp(KCMP_EPOLL_TFD) for epoll fd " + std::to_string(epoll_fd) + " and " + fd));
  return fd + " is now another file";
}

// Why not every watch of `fd` (an epoll set open at fd.fd() in pid) names its file by the fd number
// it was added with there, or "" when all do.
Result<std::string> unnamed_watches(pid_t pid, const image::Fd& fd) {
  std::map<int, uint32_t> seen;  // A number can be watched more than once (for different files).
  for (const image::EpollTarget& target : fd.epoll().targets()) {
    ASSIGN_OR_RETURN(std::string why, unnamed_watch(pid, fd.fd(), target.fd(), seen[target.fd()]++));
    if (!why.empty()) return why;
  }
  return std::string();
}

struct SetHolder {
  pid_t pid;
  image::Fd* fd;
};

std::string describe_holder(const SetHolder& holder) {
  return "pid " + std::to_string(holder.pid) + " fd " + std::to_string(holder.fd->fd()) + " (anon_inode:[eventpoll])";
}

// One set and its holders, in the order of their pids (fds of one process together).
Result<> choose_holder(const std::vector<SetHolder>& holders) {
  std::vector<std::pair<pid_t, std::string>> refused;  // Each holder that cannot add the watches, and why.
  pid_t chosen = 0;
  for (const SetHolder& holder : holders) {
    if (chosen != 0 || (!refused.empty() && refused.back().first == holder.pid)) continue;
    ASSIGN_OR_RETURN(std::string why, unnamed_watches(holder.pid, *holder.fd));
    if (why.empty()) chosen = holder.pid;
    else refused.emplace_back(holder.pid, why);
  }
  if (chosen == 0 && refused.size() == 1)
    return fail(make_error(describe_holder(holders.front()) + ": an epoll set watches a file by a number that no longer holds it (" +
                           refused.front().second + "; the kernel keeps watching a file whose fd was closed while another "
                           "reference lives); restore adds each watch by its fd, so this is a set which cryo cannot dump"));
  if (chosen == 0) {
    std::string why;
    for (const auto& [pid, reason] : refused) why += (why.empty() ? "" : ", ") + std::string("in pid ") + std::to_string(pid) + " " + reason;
    return fail(make_error(describe_holder(holders.front()) + " is an epoll set shared with pid " + std::to_string(refused[1].first) +
                           " (inherited by fork), and no process holds every file it watches under the number it was added with (" +
                           why + "); restore adds a set's watches in one process, so this is a set which cryo cannot dump"));
  }
  for (const SetHolder& holder : holders) holder.fd->mutable_epoll()->set_watches_added_elsewhere(holder.pid != chosen);
  return {};
}

}  // namespace

Result<> collect_epoll(const FdCollect& in, image::Fd& out) {
  image::EpollState* state = out.mutable_epoll();
  for (const EpollTargetInfo& target : in.info.epoll_targets) {
    image::EpollTarget* entry = state->add_targets();
    entry->set_fd(target.fd);
    entry->set_events(target.events);
    entry->set_data(target.data);
  }
  return {};
}

Result<> choose_epoll_watch_holders(std::map<pid_t, image::ProcessFiles>& files) {
  std::map<uint64_t, std::vector<SetHolder>> shared;  // By open_file_id; std::map keeps pids in order.
  for (auto& [pid, process] : files)
    for (auto& fd : *process.mutable_fds()) {
      if (fd.kind() != image::FD_EPOLL) continue;
      if (fd.open_file_id() != 0) shared[fd.open_file_id()].push_back({pid, &fd});
      else RETURN_IF_ERROR(choose_holder({{pid, &fd}}));
    }
  for (const auto& [id, holders] : shared) RETURN_IF_ERROR(choose_holder(holders));
  return {};
}

void validate_epoll(const image::Fd& fd, const std::set<int>& numbers, const std::string& name, std::vector<std::string>* problems) {
  if (fd.epoll().targets_size() > kMaxWatches) {
    problems->push_back(name + ": epoll set has too many watches");
    return;
  }
  std::set<int> watched;
  for (const auto& target : fd.epoll().targets()) {
    std::string watch = name + ": epoll watch of fd " + std::to_string(target.fd());
    // The numbers of another process are checked in that process.
    if (!fd.epoll().watches_added_elsewhere() && (target.fd() == fd.fd() || !numbers.count(target.fd())))
      problems->push_back(watch + ": no such other fd in the process");
    if (!watched.insert(target.fd()).second) problems->push_back(watch + " appears twice");
    if (target.events() & ~kEpollEventBits) problems->push_back(watch + ": unknown event bits " + std::to_string(target.events()));
  }
}

void validate_epoll_watch_holders(const ImageSet& set, std::vector<std::string>* problems) {
  std::map<uint64_t, std::set<uint32_t>> adders;  // open_file_id -> the processes that add its watches.
  for (const auto& process : set.processes)
    for (const auto& fd : process.files.fds()) {
      if (fd.kind() != image::FD_EPOLL) continue;
      std::string name = "pid " + std::to_string(process.pid()) + ": fd " + std::to_string(fd.fd());
      if (fd.open_file_id() == 0 && fd.epoll().watches_added_elsewhere())
        problems->push_back(name + ": epoll set held by no other fd has its watches added elsewhere");
      if (fd.open_file_id() != 0) {
        auto& pids = adders[fd.open_file_id()];
        if (!fd.epoll().watches_added_elsewhere()) pids.insert(process.pid());
      }
    }
  for (const auto& [id, pids] : adders)
    if (pids.size() != 1)
      problems->push_back("epoll set of open file " + std::to_string(id) + " has its watches added by " + std::to_string(pids.size()) +
                          " processes, not one");
}

bool same_epoll(const image::Fd& a, const image::Fd& b) {
  if (a.epoll().targets_size() != b.epoll().targets_size()) return false;
  for (int i = 0; i < a.epoll().targets_size(); ++i)
    if (a.epoll().targets(i).SerializeAsString() != b.epoll().targets(i).SerializeAsString()) return false;
  return true;
}

Result<int> install_epoll(const image::Fd&, const FdInstall&) {
  UniqueFd made(::epoll_create1(0));
  if (!made.valid()) return fail_errno("epoll_create1");
  return made.release();
}

Result<> finish_epoll(const image::Fd& fd) {
  if (fd.epoll().watches_added_elsewhere()) return {};
  for (const auto& target : fd.epoll().targets()) {
    epoll_event event{};
    // EPOLLERR and EPOLLHUP, which the kernel adds to every watch, are accepted back.
    event.events = target.events();
    event.data.u64 = target.data();
    if (::epoll_ctl(fd.fd(), EPOLL_CTL_ADD, target.fd(), &event) != 0)
      return fail_errno("epoll_ctl(EPOLL_CTL_ADD, fd " + std::to_string(target.fd()) + ")");
  }
  return {};
}

}  // namespace cryo::state
