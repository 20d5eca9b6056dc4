#include "dump/shared_open_files.h"

#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <tuple>
#include <utility>
#include <vector>

#include "dump/open_file_groups.h"
#include "state/files/epoll.h"

namespace cryo::dump {
namespace {

struct Holder {
  pid_t pid;
  image::Fd* fd;
};

// kcmp(KCMP_FILE) orders open file descriptions (by the kernel's obfuscated pointers to them).
Result<ObjectOrder> compare_open_files(const Holder& a, const Holder& b) {
  long order = ::syscall(SYS_kcmp, a.pid, b.pid, KCMP_FILE, a.fd->fd(), b.fd->fd());
  if (order < 0) {
    return fail(errno_error("kcmp(" + std::to_string(a.pid) + ", " + std::to_string(b.pid) + ", KCMP_FILE, " +
                            std::to_string(a.fd->fd()) + ", " + std::to_string(b.fd->fd()) + ")"));
  }
  return object_order_from_kcmp(order);
}

}  // namespace

Result<> mark_shared_open_files(std::map<pid_t, image::ProcessFiles>& files) {
  // Only fds of one file can share an open file: group by inode first, so kcmp runs within
  // groups. Every anonymous inode (eventfd, timerfd, epoll ...) is the same inode, so the kind
  // is in the key too; and within a group the fds are sorted with kcmp as the comparator
  // (open_file_groups.h): thousands of eventfds cost n log n calls, not one per pair.
  std::map<std::tuple<uint64_t, uint64_t, int>, std::vector<Holder>> by_inode;
  for (auto& [pid, process] : files)
    for (auto& fd : *process.mutable_fds()) {
      fd.set_open_file_id(0);
      // Pipes have no identity; each end may have several open files (a reopen through /proc),
      // each with its own status flags. A device number no file has keeps them apart from files.
      if (fd.kind() == image::FD_PIPE) by_inode[{~uint64_t{0}, fd.pipe_id(), fd.kind()}].push_back({pid, &fd});
      else by_inode[{fd.identity().dev(), fd.identity().ino(), fd.kind()}].push_back({pid, &fd});
    }
  uint64_t next_id = 1;
  for (auto& [inode, holders] : by_inode) {
    if (holders.size() < 2) continue;
    ASSIGN_OR_RETURN(auto groups, group_equal_objects(holders.size(), [&](size_t a, size_t b) {
                       return compare_open_files(holders[a], holders[b]);
                     }));
    for (const auto& group : groups) {
      uint64_t id = next_id++;
      for (size_t member : group) holders[member].fd->set_open_file_id(id);
    }
  }
  // An epoll set's watches are added again by one of its holders: the one that names them all.
  return state::choose_epoll_watch_holders(files);
}

}  // namespace cryo::dump
