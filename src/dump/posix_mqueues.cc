#include "dump/posix_mqueues.h"

#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <sys/mount.h>  // fsopen, fsconfig and fsmount flags.
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <iterator>
#include <vector>

#include "base/file_util.h"
#include "base/hex.h"
#include "base/unique_fd.h"
#include "image/file_identity.h"
#include "image/mqueue_limits.h"
#include "kernel/proc_text.h"
#include "ns/namespace_file.h"

namespace cryo::dump {
namespace {

constexpr uint32_t kKernelLargefile = 0100000;       // glibc's O_LARGEFILE is 0 on x86_64.

// The files of image::kMqueueSysctls, in its order.
constexpr const char* kSysctlPaths[] = {"/proc/sys/fs/mqueue/queues_max", "/proc/sys/fs/mqueue/msg_max",
                                        "/proc/sys/fs/mqueue/msgsize_max", "/proc/sys/fs/mqueue/msg_default",
                                        "/proc/sys/fs/mqueue/msgsize_default"};
static_assert(std::size(kSysctlPaths) == image::kMqueueSysctls.size());

std::string notify_kind(int notify) {
  switch (notify) {
    case 0: return "SIGEV_SIGNAL";
    case 1: return "SIGEV_NONE";
    case 2: return "SIGEV_THREAD";
    default: return "notification " + std::to_string(notify);
  }
}

Error over_budget(uint64_t budget) {
  return make_error("the tree's POSIX message queues, SysV message queues and shared memory hold more than the " +
                    std::to_string(budget) + " bytes left of what cryo stores, which cryo cannot dump")
      .with_hint("empty the queues first");
}

// The namespace's fs.mqueue sysctls (the reader's IPC namespace's); false if the kernel has no POSIX
// message queues (no /proc/sys/fs/mqueue), and nothing else is to be read.
Result<bool> read_sysctls(image::SysvIpc& ipc) {
  for (size_t i = 0; i < std::size(kSysctlPaths); ++i) {
    auto text = read_file(kSysctlPaths[i]);
    if (!text && text.error().err == ENOENT && i == 0) return false;
    RETURN_IF_ERROR_CTX(text, "read the tree's fs.mqueue sysctls");
    std::string value = *text;
    while (!value.empty() && value.back() == '\n') value.pop_back();
    auto* sysctl = ipc.add_mqueue_sysctls();
    sysctl->set_name(std::string(image::kMqueueSysctls[i]));
    sysctl->set_value(value);
  }
  return true;
}

// Takes every message of `queue` into `out` (counting their bytes against `budget`), then sends them
// back in the order they came, also after a failure: the queue must be as it was.
Result<> take_and_give_back(int queue, const mq_attr& attr, uint64_t& budget, image::PosixQueue& out) {
  Result<> taking;
  std::string text(static_cast<size_t>(attr.mq_msgsize), '\0');
  for (long i = 0; i < attr.mq_curmsgs; ++i) {
    unsigned priority = 0;
    ssize_t n = ::syscall(SYS_mq_timedreceive, queue, text.data(), text.size(), &priority, nullptr);
    if (n < 0) {
      taking = fail_errno("mq_receive");
      break;
    }
    if (static_cast<uint64_t>(n) > budget) {
      taking = fail(over_budget(budget));
      break;
    }
    budget -= static_cast<uint64_t>(n);
    auto* message = out.add_messages();
    message->set_priority(priority);
    message->set_text(text.data(), static_cast<size_t>(n));
  }
  for (const auto& message : out.messages())
    if (::syscall(SYS_mq_timedsend, queue, message.text().data(), message.text().size(), message.priority(), nullptr) != 0)
      // The tree has lost messages: say so plainly (a --leave-running dump left it changed).
      return fail(errno_error("mq_send").context("sending its messages back failed; the queue lost them"));
  RETURN_IF_ERROR(taking);
  mq_attr after{};
  if (::syscall(SYS_mq_getsetattr, queue, nullptr, &after) != 0) return fail_errno("mq_getattr");
  if (after.mq_curmsgs != attr.mq_curmsgs)
    return fail("it holds " + std::to_string(after.mq_curmsgs) + " messages after they were sent back, not " +
                std::to_string(attr.mq_curmsgs) + " as before");
  return {};
}

// Reads the queue `name` of the mqueue filesystem at `root` into ipc.posix_queues.
Result<> read_queue(int root, const std::string& name, uint64_t& budget, image::SysvIpc& ipc) {
  std::string what = "POSIX message queue /" + name;
  UniqueFd queue(::openat(root, name.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!queue.valid()) return fail(errno_error("open").context("read " + what));
  struct stat st;
  if (::fstat(queue.get(), &st) != 0) return fail(errno_error("fstat").context("read " + what));
  char status_text[128];
  ssize_t got = ::read(queue.get(), status_text, sizeof status_text - 1);
  if (got < 0) return fail(errno_error("read").context("read " + what));
  ASSIGN_OR_RETURN_CTX(MqueueStatus status, parse_mqueue_status(std::string_view(status_text, static_cast<size_t>(got))), what);
  // A registered mq_notify fires (and goes) when a message arrives in an empty queue: such a queue
  // is refused before any message is taken.
  if (status.notify_pid != 0)
    return fail(make_error(what + " has mq_notify registered (" + notify_kind(status.notify) + ", by host pid " +
                           std::to_string(status.notify_pid) + "), which cryo cannot dump yet")
                    .with_hint("cancel the registration (mq_notify(mqd, NULL)) before the dump"));
  uint32_t mode = st.st_mode & 07777;
  if (mode & ~0777u) return fail(what + " has mode bits " + std::to_string(mode) + " unknown to cryo, which cryo cannot dump");
  mq_attr attr{};
  if (::syscall(SYS_mq_getsetattr, queue.get(), nullptr, &attr) != 0) return fail(errno_error("mq_getattr").context("read " + what));
  // QSIZE counts the messages' bytes (and some of the kernel's bookkeeping): refused before any is taken.
  if (attr.mq_curmsgs > 0 && status.qsize > budget) return fail(over_budget(budget));
  auto* out = ipc.add_posix_queues();
  out->set_name(name);
  out->set_queue_id(st.st_ino);
  out->set_mode(mode);
  out->set_uid(st.st_uid);
  out->set_gid(st.st_gid);
  out->set_maxmsg(attr.mq_maxmsg);
  out->set_msgsize(attr.mq_msgsize);
  if (attr.mq_curmsgs > 0) RETURN_IF_ERROR_CTX(take_and_give_back(queue.get(), attr, budget, *out), what);
  return {};
}

// Opens the root of an mqueue filesystem of the caller's IPC namespace. An mqueue filesystem made
// from inside an IPC namespace is that namespace's queues. Mounted detached (fsmount), it is in no
// mount namespace and needs no directory: it goes with its fd.
Result<UniqueFd> open_mqueue_root() {
  UniqueFd context(static_cast<int>(::syscall(SYS_fsopen, "mqueue", FSOPEN_CLOEXEC)));
  if (!context.valid()) return fail_errno("fsopen(mqueue)");
  if (::syscall(SYS_fsconfig, context.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return fail_errno("fsconfig(FSCONFIG_CMD_CREATE)");
  UniqueFd mounted(static_cast<int>(
      ::syscall(SYS_fsmount, context.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)));
  if (!mounted.valid()) return fail_errno("fsmount(mqueue)");
  // The mount's fd is a path only: its root is opened to be read.
  UniqueFd root(::openat(mounted.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return fail_errno("open(the mqueue filesystem's root)");
  return root;
}

// Every queue of the caller's IPC namespace, on a thread that joined the tree's. Returns the
// device of the namespace's mqueue filesystem, 0 where the kernel has no POSIX message queues.
Result<uint64_t> read_namespace_queues(uint64_t budget, image::SysvIpc& ipc) {
  ASSIGN_OR_RETURN(bool has_mqueues, read_sysctls(ipc));
  if (!has_mqueues) return uint64_t{0};
  const char* what = "read the tree's POSIX message queues";
  ASSIGN_OR_RETURN_CTX(UniqueFd root, open_mqueue_root(), what);
  struct stat root_stat;
  if (::fstat(root.get(), &root_stat) != 0) return fail(errno_error("fstat(the mqueue filesystem's root)").context(what));
  std::vector<std::string> names;
  alignas(8) char entries[8192];
  for (;;) {
    long n = ::syscall(SYS_getdents64, root.get(), entries, sizeof entries);
    if (n < 0) return fail(errno_error("getdents64(the mqueue filesystem)").context(what));
    if (n == 0) break;
    for (long at = 0; at < n;) {
      auto* e = reinterpret_cast<struct dirent64*>(entries + at);
      at += e->d_reclen;
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      if (names.size() >= image::kMqueueHardQueuesMax)
        return fail("the tree's IPC namespace holds more than " + std::to_string(image::kMqueueHardQueuesMax) + " POSIX message queues");
      names.push_back(std::move(name));
    }
  }
  for (const auto& name : names)
    RETURN_IF_ERROR(read_queue(root.get(), name, budget, ipc));
  std::sort(ipc.mutable_posix_queues()->begin(), ipc.mutable_posix_queues()->end(),
            [](const auto& a, const auto& b) { return a.name() < b.name(); });
  return static_cast<uint64_t>(root_stat.st_dev);
}

}  // namespace

Result<MqueueStatus> parse_mqueue_status(std::string_view text) {
  MqueueStatus status;
  bool seen[4] = {};
  // One line, ended by a newline.
  std::string_view line = text.substr(0, text.find('\n'));
  for (std::string_view field : proc_text::fields(line)) {
    size_t colon = field.find(':');
    if (colon == std::string_view::npos) return fail("queue status '" + std::string(text) + "': no ':' in '" + std::string(field) + "'");
    std::string_view key = field.substr(0, colon), value = field.substr(colon + 1);
    ASSIGN_OR_RETURN(int64_t number, proc_text::parse_i64(value, "queue status " + std::string(key)));
    if (key == "QSIZE" && number >= 0) {
      status.qsize = static_cast<uint64_t>(number);
      seen[0] = true;
    } else if (key == "NOTIFY") {
      status.notify = static_cast<int>(number);
      seen[1] = true;
    } else if (key == "SIGNO") {
      status.signo = static_cast<int>(number);
      seen[2] = true;
    } else if (key == "NOTIFY_PID" && number >= 0 && number <= INT32_MAX) {
      status.notify_pid = static_cast<int>(number);
      seen[3] = true;
    }
  }
  if (!seen[0] || !seen[3]) return fail("queue status '" + std::string(text) + "' lacks QSIZE or NOTIFY_PID");
  return status;
}

Result<uint64_t> collect_posix_mqueues(pid_t pid, image::SysvIpc& ipc, uint64_t budget) {
  uint64_t dev = 0;
  RETURN_IF_ERROR(run_in_namespace_of(pid, "ipc", CLONE_NEWIPC, "read the tree's POSIX message queues", [&]() -> Result<> {
    ASSIGN_OR_RETURN(dev, read_namespace_queues(budget, ipc));
    return {};
  }));
  return dev;
}

Result<bool> collect_mqueue_fd(int fd, const std::string& target, const std::string& link, image::Fd& out) {
  auto st = stat_path(link);
  if (!st) {
    if (st.error().err == ENOENT) return false;
    return fail(st.error());
  }
  // mq_open takes the access mode, O_NONBLOCK and (from an open of the queue's path in a mounted
  // mqueue filesystem) O_LARGEFILE; O_ASYNC and the rest would not come back.
  uint32_t extra = out.flags() & ~static_cast<uint32_t>(O_ACCMODE | O_NONBLOCK | kKernelLargefile);
  if (extra != 0 || (out.flags() & O_ACCMODE) == O_ACCMODE)
    return fail(make_error("fd " + std::to_string(fd) + " (" + target + ") is a POSIX message queue with file status flags " +
                           hex(out.flags()) + ", which cryo cannot dump yet"));
  // flock works on any file; restore takes locks again only on files it reopens by path.
  if (out.locks_size() > 0)
    return fail(make_error("fd " + std::to_string(fd) + " (" + target + ") is a POSIX message queue with a file lock (flock), which cryo cannot dump yet"));
  out.set_kind(image::FD_POSIX_MQUEUE);
  out.set_mqueue_id(st->st_ino);
  set_identity(*st, out.mutable_identity());
  out.set_path(target);  // The queue's name replaces it once the queues are read (attach_mqueue_fds).
  return true;
}

Result<> attach_mqueue_fds(const image::SysvIpc& ipc, uint64_t mqueue_dev, std::map<pid_t, image::ProcessFiles>& files,
                           const std::map<pid_t, uint32_t>& pid_inside) {
  std::map<uint64_t, const image::PosixQueue*> by_id;
  for (const auto& queue : ipc.posix_queues()) by_id[queue.queue_id()] = &queue;
  for (auto& [host_pid, process] : files)
    for (auto& fd : *process.mutable_fds()) {
      if (fd.kind() != image::FD_POSIX_MQUEUE) continue;
      auto queue = by_id.find(fd.mqueue_id());
      auto inside = pid_inside.find(host_pid);
      std::string what = "pid " + std::to_string(inside == pid_inside.end() ? 0u : inside->second) + ": fd " + std::to_string(fd.fd()) +
                         " (" + fd.path() + ") is a POSIX message queue ";
      if (fd.identity().dev() != mqueue_dev)
        return fail(make_error(what + "of another IPC namespace than the tree's (its mqueue filesystem mounted), which cryo cannot dump"));
      if (queue == by_id.end())
        return fail(make_error(what + "unlinked while open (mq_unlink), which cryo cannot dump yet"));
      fd.set_path("/" + queue->second->name());
    }
  return {};
}

}  // namespace cryo::dump
