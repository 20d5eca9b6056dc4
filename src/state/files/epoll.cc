#include "state/files/epoll.h"

#include <linux/kcmp.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <map>

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

Result<> check_epoll_target(pid_t pid, int epoll_fd, int target, uint32_t nth) {
  std::string who = "epoll fd " + std::to_string(epoll_fd) + " watches fd " + std::to_string(target);
  KcmpEpollSlot slot{static_cast<uint32_t>(epoll_fd), static_cast<uint32_t>(target), nth};
  long order = ::syscall(SYS_kcmp, pid, pid, KCMP_EPOLL_TFD, target, &slot);
  if (order == 0) return {};
  if (order < 0 && errno == EBADF)
    return fail(make_error(who + ", which is no longer open in the process (the kernel keeps watching its file through another "
                                 "reference); cryo cannot restore a watch it cannot name by an fd"));
  if (order < 0) return fail(errno_error("kcmp(KCMP_EPOLL_TFD) for " + who));
  return fail(make_error(who + ", but fd " + std::to_string(target) +
                         " now refers to another file than the one watched; cryo cannot restore that watch"));
}

}  // namespace

Result<> collect_epoll(const FdCollect& in, image::Fd& out) {
  image::EpollState* state = out.mutable_epoll();
  std::map<int, uint32_t> seen;  // A number can be watched more than once (for different files).
  for (const EpollTargetInfo& target : in.info.epoll_targets) {
    RETURN_IF_ERROR(check_epoll_target(in.pid, in.fd, target.fd, seen[target.fd]++));
    image::EpollTarget* entry = state->add_targets();
    entry->set_fd(target.fd);
    entry->set_events(target.events);
    entry->set_data(target.data);
  }
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
    if (target.fd() == fd.fd() || !numbers.count(target.fd())) problems->push_back(watch + ": no such other fd in the process");
    if (!watched.insert(target.fd()).second) problems->push_back(watch + " appears twice");
    if (target.events() & ~kEpollEventBits) problems->push_back(watch + ": unknown event bits " + std::to_string(target.events()));
  }
}

Result<int> install_epoll(const image::Fd&, const FdInstall&) {
  UniqueFd made(::epoll_create1(0));
  if (!made.valid()) return fail_errno("epoll_create1");
  return made.release();
}

Result<> finish_epoll(const image::Fd& fd) {
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
