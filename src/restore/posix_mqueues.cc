#include "restore/posix_mqueues.h"

#include <fcntl.h>
#include <mqueue.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "base/file_util.h"
#include "base/unique_fd.h"

namespace cryo::restore {
namespace {

std::string sysctl_path(const std::string& name) { return "/proc/sys/fs/mqueue/" + name; }

// The creator's fsuid and fsgid become the queue's owner, and its bytes are charged to that user's
// RLIMIT_MSGQUEUE account, as they were for the process that made it: the init placeholder (root)
// takes the owner's as effective ids and comes back through the saved ids.
Result<> become(uid_t uid, gid_t gid) {
  if (::syscall(SYS_setresgid, -1, gid, -1) != 0) return fail_errno("setresgid(-1, " + std::to_string(gid) + ", -1)");
  if (::syscall(SYS_setresuid, -1, uid, -1) != 0) return fail_errno("setresuid(-1, " + std::to_string(uid) + ", -1)");
  return {};
}

Result<> become_root() {
  if (::syscall(SYS_setresuid, -1, 0, -1) != 0) return fail_errno("setresuid(-1, 0, -1)");
  if (::syscall(SYS_setresgid, -1, 0, -1) != 0) return fail_errno("setresgid(-1, 0, -1)");
  return {};
}

Result<UniqueFd> create_queue(const image::PosixQueue& q) {
  struct mq_attr attr {};
  attr.mq_maxmsg = q.maxmsg();
  attr.mq_msgsize = q.msgsize();
  RETURN_IF_ERROR(become(q.uid(), q.gid()));
  mode_t umask_before = ::umask(0);
  // The kernel's name has no leading '/' (glibc's mq_open strips it).
  long made = ::syscall(SYS_mq_open, q.name().c_str(), O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK | O_CLOEXEC,
                        static_cast<mode_t>(q.mode()), &attr);
  int open_errno = errno;
  ::umask(umask_before);
  RETURN_IF_ERROR(become_root());
  if (made < 0) {
    Error e = errno_error("mq_open(O_CREAT, mq_maxmsg " + std::to_string(q.maxmsg()) + ", mq_msgsize " + std::to_string(q.msgsize()) +
                              ", as uid " + std::to_string(q.uid()) + ")",
                          open_errno);
    if (open_errno == EMFILE) e = e.with_hint("the queues' bytes exceed RLIMIT_MSGQUEUE (ulimit -q) of cryo; raise it");
    return fail(e);
  }
  return UniqueFd(static_cast<int>(made));
}

Result<> fill_queue(int queue, const image::PosixQueue& q) {
  for (int i = 0; i < q.messages_size(); ++i) {
    const auto& m = q.messages(i);
    if (::syscall(SYS_mq_timedsend, queue, m.text().data(), m.text().size(), m.priority(), nullptr) != 0)
      return fail_errno("mq_send of message " + std::to_string(i) + " (" + std::to_string(m.text().size()) + " bytes, priority " +
                        std::to_string(m.priority()) + ")");
  }
  struct mq_attr attr {};
  if (::syscall(SYS_mq_getsetattr, queue, nullptr, &attr) != 0) return fail_errno("mq_getattr");
  if (attr.mq_maxmsg != q.maxmsg() || attr.mq_msgsize != q.msgsize() || attr.mq_curmsgs != q.messages_size())
    return fail("it has mq_maxmsg " + std::to_string(attr.mq_maxmsg) + ", mq_msgsize " + std::to_string(attr.mq_msgsize) + " and " +
                std::to_string(attr.mq_curmsgs) + " messages, not " + std::to_string(q.maxmsg()) + ", " + std::to_string(q.msgsize()) +
                " and " + std::to_string(q.messages_size()));
  return {};
}

}  // namespace

std::vector<image::IpcSysctl> raised_mqueue_limits(const image::SysvIpc& ipc) {
  long long queues = ipc.posix_queues_size(), maxmsg = 0, msgsize = 0;
  for (const auto& q : ipc.posix_queues()) {
    maxmsg = std::max<long long>(maxmsg, q.maxmsg());
    msgsize = std::max<long long>(msgsize, q.msgsize());
  }
  std::vector<image::IpcSysctl> limits;
  for (const auto& sysctl : ipc.mqueue_sysctls()) {
    long long least = sysctl.name() == "queues_max" ? queues : sysctl.name() == "msg_max" ? maxmsg : sysctl.name() == "msgsize_max" ? msgsize : -1;
    if (least < 0) continue;  // The defaults are no limits.
    // Validation made sure the value is one number.
    long long value = std::strtoll(sysctl.value().c_str(), nullptr, 10);
    image::IpcSysctl limit;
    limit.set_name(sysctl.name());
    limit.set_value(std::to_string(std::max(value, least)));
    limits.push_back(std::move(limit));
  }
  return limits;
}

Result<> create_posix_mqueues(const image::SysvIpc& ipc) {
  if (ipc.posix_queues_size() == 0 && ipc.mqueue_sysctls_size() == 0) return {};
  // The fs.mqueue files are the writer's IPC namespace's, whichever /proc they are reached through.
  for (const auto& limit : raised_mqueue_limits(ipc))
    RETURN_IF_ERROR_CTX(write_existing_file(sysctl_path(limit.name()), limit.value()),
                        "raise the IPC namespace's fs.mqueue." + limit.name() + " to " + limit.value());
  for (const auto& q : ipc.posix_queues()) {
    std::string what = "create POSIX message queue /" + q.name();
    ASSIGN_OR_RETURN_CTX(UniqueFd queue, create_queue(q), what);
    RETURN_IF_ERROR_CTX(fill_queue(queue.get(), q), what);
  }
  // Once the queues exist: a limit lowered below a queue's attributes would have refused it.
  for (const auto& sysctl : ipc.mqueue_sysctls())
    RETURN_IF_ERROR_CTX(write_existing_file(sysctl_path(sysctl.name()), sysctl.value()),
                        "write the IPC namespace's fs.mqueue." + sysctl.name());
  return {};
}

Result<int> open_posix_mqueue(const image::Fd& fd) {
  // The access mode, O_NONBLOCK and O_LARGEFILE (validation allows no other flag) become the open
  // file's, as the tree's mq_open or open gave them.
  int flags = static_cast<int>(fd.flags()) & ~(O_CLOEXEC | O_CREAT | O_EXCL | O_TRUNC);
  std::string name = fd.path().substr(1);
  long opened = ::syscall(SYS_mq_open, name.c_str(), flags, 0, nullptr);
  if (opened < 0) return fail_errno("mq_open(" + fd.path() + ")");
  UniqueFd queue(static_cast<int>(opened));
  // A read(2) of the queue's status text moved it: the next read goes on from there.
  if (fd.pos() != 0 && ::lseek(queue.get(), static_cast<off_t>(fd.pos()), SEEK_SET) < 0)
    return fail_errno("lseek(" + fd.path() + ", " + std::to_string(fd.pos()) + ")");
  return queue.release();
}

Result<> stage_shared_mqueue_files(const ImageSet& set, int min_fd, std::map<uint64_t, int>& files) {
  std::map<uint64_t, std::pair<const image::Fd*, int>> seen;
  for (const auto& process : set.processes)
    for (const auto& fd : process.files.fds())
      if (fd.kind() == image::FD_POSIX_MQUEUE && fd.open_file_id() != 0) {
        auto& entry = seen[fd.open_file_id()];
        if (!entry.first) entry.first = &fd;
        ++entry.second;
      }
  for (const auto& [id, entry] : seen) {
    if (entry.second < 2) continue;
    std::string what = "shared open file of POSIX message queue " + entry.first->path();
    ASSIGN_OR_RETURN_CTX(int opened, open_posix_mqueue(*entry.first), what);
    int moved = ::fcntl(opened, F_DUPFD, min_fd);  // Without FD_CLOEXEC: every placeholder forked later inherits it.
    int err = errno;
    ::close(opened);
    if (moved < 0) return fail(errno_error("fcntl(F_DUPFD, " + std::to_string(min_fd) + ")", err).context(what));
    files[id] = moved;
  }
  return {};
}

}  // namespace cryo::restore
