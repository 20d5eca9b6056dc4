#include "dump/anon_inode_files.h"

#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>

#include "dump/fanotify_marks.h"
#include "dump/inotify_watches.h"

namespace cryo::dump {
namespace {

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

Result<> collect_epoll(pid_t pid, int fd, const FdInfo& info, image::Fd& out) {
  image::EpollState* state = out.mutable_epoll();
  std::map<int, uint32_t> seen;  // A number can be watched more than once (for different files).
  for (const EpollTargetInfo& target : info.epoll_targets) {
    RETURN_IF_ERROR(check_epoll_target(pid, fd, target.fd, seen[target.fd]++));
    image::EpollTarget* entry = state->add_targets();
    entry->set_fd(target.fd);
    entry->set_events(target.events);
    entry->set_data(target.data);
  }
  return {};
}

}  // namespace

Result<> collect_anon_inode(pid_t pid, int fd, image::FdKind kind, const FdInfo& info, image::Fd& out) {
  switch (kind) {
    case image::FD_EPOLL: return collect_epoll(pid, fd, info, out);
    case image::FD_INOTIFY: return collect_inotify(pid, fd, info, out);
    case image::FD_FANOTIFY: return collect_fanotify(pid, fd, info, out);
    default: return fail("fd kind " + image::FdKind_Name(kind) + " is not an anonymous inode cryo dumps");
  }
}

}  // namespace cryo::dump
