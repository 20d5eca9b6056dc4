#include "dump/posix_mqueues.h"

#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>  // fsopen, fsconfig and fsmount flags.
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <iterator>

#include "base/hex.h"
#include "base/run_in_child.h"
#include "base/unique_fd.h"
#include "dump/file_identity.h"
#include "image/mqueue_limits.h"
#include "kernel/proc_text.h"

namespace cryo::dump {
namespace {

constexpr uint32_t kKernelLargefile = 0100000;       // glibc's O_LARGEFILE is 0 on x86_64.

// What the helper child leaves in the shared buffer for each queue, followed by its messages: a
// MessageHeader and the bytes of each, every record 8-byte aligned.
struct QueueHeader {
  char name[image::kMqueueNameMax + 1];
  uint64_t ino;
  uint32_t mode, uid, gid;
  int64_t maxmsg, msgsize, curmsgs;
  char status[128];
  uint32_t status_length;
  uint32_t messages;  // Taken and sent back again; 0 for a queue with mq_notify registered (left alone).
  uint64_t bytes;     // Of the message records after this header.
};

struct MessageHeader {
  uint32_t priority;
  uint32_t length;
};

// The files of image::kMqueueSysctls, in its order, for the child (no allocation after fork).
constexpr const char* kSysctlPaths[] = {"/proc/sys/fs/mqueue/queues_max", "/proc/sys/fs/mqueue/msg_max",
                                        "/proc/sys/fs/mqueue/msgsize_max", "/proc/sys/fs/mqueue/msg_default",
                                        "/proc/sys/fs/mqueue/msgsize_default"};
static_assert(std::size(kSysctlPaths) == image::kMqueueSysctls.size());

// The step that failed ('=' when all went well), the queue's index, errno, the queues written, the
// device of the namespace's mqueue filesystem, and the text of its fs.mqueue sysctls.
struct Report {
  int step;
  int index;
  int err;
  int queues;
  uint64_t dev;
  bool no_mqueues;  // The kernel has no POSIX message queues (no /proc/sys/fs/mqueue): nothing else was read.
  char sysctls[std::size(kSysctlPaths)][32];
};

enum Step : int { kDone = '=', kSetns = 's', kFsopen = 'f', kFsconfig = 'c', kFsmount = 'm', kOpenRoot = 'o', kSysctl = 'y', kReadDir = 'd',
                  kOpenQueue = 'q', kStat = 't', kReadStatus = 'r', kGetAttr = 'a', kBudget = 'b', kTooMany = 'n',
                  kReceive = 'v', kSendBack = 'w', kCount = 'k' };

constexpr size_t align8(size_t n) { return (n + 7) & ~size_t{7}; }

// A number of a queue's status text ("QSIZE:", "NOTIFY_PID:"), without stdio (the child is forked
// from a threaded cryo).
long status_field(const char* status, size_t length, const char* key) {
  size_t key_length = std::strlen(key);
  for (size_t i = 0; i + key_length <= length; ++i) {
    if (std::memcmp(status + i, key, key_length) != 0) continue;
    long value = 0;
    for (size_t k = i + key_length; k < length && status[k] >= '0' && status[k] <= '9'; ++k) value = value * 10 + (status[k] - '0');
    return value;
  }
  return -1;  // No such field: the parent refuses the text.
}

Report child_report;  // The child's, filled as it goes.

[[noreturn]] void report_and_exit(int out, Step step, int index, int err, int queues) {
  child_report.step = step;
  child_report.index = index;
  child_report.err = err;
  child_report.queues = queues;
  report_to_parent(out, &child_report, sizeof child_report);
  ::_exit(0);
}

// The namespace's sysctls into child_report; false if the kernel has none.
bool read_sysctls_in_child(int out) {
  for (size_t i = 0; i < std::size(kSysctlPaths); ++i) {
    int file = ::open(kSysctlPaths[i], O_RDONLY | O_CLOEXEC);
    if (file < 0 && errno == ENOENT && i == 0) return false;
    if (file < 0) report_and_exit(out, kSysctl, static_cast<int>(i), errno, 0);
    ssize_t n = ::read(file, child_report.sysctls[i], sizeof child_report.sysctls[i] - 1);
    if (n < 0) report_and_exit(out, kSysctl, static_cast<int>(i), errno, 0);
    ::close(file);
  }
  return true;
}

// Takes every message of `queue` into `at` (room for `room` bytes), then sends them back in the
// order they came; sets header.messages and header.bytes, or reports and exits.
void take_and_give_back(int queue, QueueHeader& header, char* at, size_t room, int index, int out, int queues) {
  size_t used = 0;
  uint32_t taken = 0;
  int failure = 0, failure_errno = 0;
  for (int64_t i = 0; i < header.curmsgs; ++i) {
    if (used + sizeof(MessageHeader) + static_cast<size_t>(header.msgsize) > room) {
      failure = kBudget;
      break;
    }
    MessageHeader m{};
    ssize_t n = ::syscall(SYS_mq_timedreceive, queue, at + used + sizeof m, static_cast<size_t>(header.msgsize), &m.priority, nullptr);
    if (n < 0) {
      failure = kReceive;
      failure_errno = errno;
      break;
    }
    m.length = static_cast<uint32_t>(n);
    std::memcpy(at + used, &m, sizeof m);
    used += align8(sizeof m + m.length);
    ++taken;
  }
  // Whatever was taken goes back, even after a failure: the queue must be as it was.
  size_t offset = 0;
  for (uint32_t i = 0; i < taken; ++i) {
    MessageHeader m;
    std::memcpy(&m, at + offset, sizeof m);
    if (::syscall(SYS_mq_timedsend, queue, at + offset + sizeof m, m.length, m.priority, nullptr) != 0)
      report_and_exit(out, kSendBack, index, errno, queues);
    offset += align8(sizeof m + m.length);
  }
  if (failure) report_and_exit(out, static_cast<Step>(failure), index, failure_errno, queues);
  struct mq_attr after {};
  if (::syscall(SYS_mq_getsetattr, queue, nullptr, &after) != 0) report_and_exit(out, kGetAttr, index, errno, queues);
  if (after.mq_curmsgs != header.curmsgs) report_and_exit(out, kCount, index, static_cast<int>(after.mq_curmsgs), queues);
  header.messages = taken;
  header.bytes = used;
}

// Only async-signal-safe calls between fork and _exit: cryo may have other threads.
int list_in_child(int ns, char* buffer, size_t capacity, int out) {
  if (::setns(ns, CLONE_NEWIPC) != 0) report_and_exit(out, kSetns, -1, errno, 0);
  // The fs.mqueue files are the reader's IPC namespace's.
  if (!read_sysctls_in_child(out)) {
    child_report.no_mqueues = true;
    report_and_exit(out, kDone, 0, 0, 0);
  }
  // An mqueue filesystem made from inside an IPC namespace is that namespace's queues. Mounted
  // detached (fsmount), it is in no mount namespace and needs no directory: it goes with its fd.
  int context = static_cast<int>(::syscall(SYS_fsopen, "mqueue", FSOPEN_CLOEXEC));
  if (context < 0) report_and_exit(out, kFsopen, -1, errno, 0);
  if (::syscall(SYS_fsconfig, context, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) report_and_exit(out, kFsconfig, -1, errno, 0);
  int mounted = static_cast<int>(
      ::syscall(SYS_fsmount, context, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
  if (mounted < 0) report_and_exit(out, kFsmount, -1, errno, 0);
  // The mount's fd is a path only: its root is opened to be read.
  int root = ::openat(mounted, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) report_and_exit(out, kOpenRoot, -1, errno, 0);
  struct stat root_stat;
  if (::fstat(root, &root_stat) != 0) report_and_exit(out, kStat, -1, errno, 0);
  child_report.dev = root_stat.st_dev;
  size_t used = 0;
  int queues = 0;
  alignas(8) static char entries[32768];
  for (;;) {
    long n = ::syscall(SYS_getdents64, root, entries, sizeof entries);
    if (n < 0) report_and_exit(out, kReadDir, -1, errno, queues);
    if (n == 0) break;
    for (long at = 0; at < n;) {
      auto* e = reinterpret_cast<struct dirent64*>(entries + at);
      at += e->d_reclen;
      if (e->d_name[0] == '.' && (e->d_name[1] == 0 || (e->d_name[1] == '.' && e->d_name[2] == 0))) continue;
      int index = queues;
      if (queues >= image::kMqueueHardQueuesMax) report_and_exit(out, kTooMany, index, 0, queues);
      if (used + sizeof(QueueHeader) > capacity) report_and_exit(out, kBudget, index, 0, queues);
      QueueHeader header{};
      size_t name_length = std::strlen(e->d_name);
      if (name_length > image::kMqueueNameMax) name_length = image::kMqueueNameMax;  // NAME_MAX bounds it already.
      std::memcpy(header.name, e->d_name, name_length);
      // Written now so that a failure on it below can be named by the parent.
      std::memcpy(buffer + used, &header, sizeof header);
      int queue = ::openat(root, e->d_name, O_RDWR | O_NONBLOCK | O_CLOEXEC);
      if (queue < 0) report_and_exit(out, kOpenQueue, index, errno, queues + 1);
      struct stat st;
      if (::fstat(queue, &st) != 0) report_and_exit(out, kStat, index, errno, queues + 1);
      header.ino = st.st_ino;
      header.mode = st.st_mode & 07777;
      header.uid = st.st_uid;
      header.gid = st.st_gid;
      ssize_t got = ::read(queue, header.status, sizeof header.status - 1);
      if (got < 0) report_and_exit(out, kReadStatus, index, errno, queues + 1);
      header.status_length = static_cast<uint32_t>(got);
      struct mq_attr attr {};
      if (::syscall(SYS_mq_getsetattr, queue, nullptr, &attr) != 0) report_and_exit(out, kGetAttr, index, errno, queues + 1);
      header.maxmsg = attr.mq_maxmsg;
      header.msgsize = attr.mq_msgsize;
      header.curmsgs = attr.mq_curmsgs;
      size_t body = used + sizeof header;
      // A registered mq_notify fires (and goes) when a message arrives in an empty queue: such a
      // queue is left untouched, and the parent refuses it.
      bool notify = status_field(header.status, header.status_length, "NOTIFY_PID:") != 0;
      // QSIZE counts the messages' bytes (and some of the kernel's bookkeeping): refused before any is taken.
      long qsize = status_field(header.status, header.status_length, "QSIZE:");
      if (!notify && header.curmsgs > 0 &&
          static_cast<uint64_t>(qsize < 0 ? 0 : qsize) + static_cast<uint64_t>(header.curmsgs) * 16 + static_cast<uint64_t>(header.msgsize) >
              capacity - body)
        report_and_exit(out, kBudget, index, 0, queues + 1);
      if (!notify && header.curmsgs > 0)
        take_and_give_back(queue, header, buffer + body, capacity - body, index, out, queues + 1);
      ::close(queue);
      std::memcpy(buffer + used, &header, sizeof header);
      used = body + header.bytes;
      ++queues;
    }
  }
  report_and_exit(out, kDone, 0, 0, queues);
}

std::string step_name(int step) {
  switch (step) {
    case kSetns: return "setns(CLONE_NEWIPC)";
    case kFsopen: return "fsopen(mqueue)";
    case kFsconfig: return "fsconfig(FSCONFIG_CMD_CREATE)";
    case kFsmount: return "fsmount(mqueue)";
    case kOpenRoot: return "open(the mqueue filesystem's root)";
    case kSysctl: return "read /proc/sys/fs/mqueue";
    case kReadDir: return "getdents64(the mqueue filesystem)";
    case kOpenQueue: return "open";
    case kStat: return "fstat";  // Of the filesystem's root (index -1) or of a queue.
    case kReadStatus: return "read";
    case kGetAttr: return "mq_getattr";
    case kReceive: return "mq_receive";
    default: return "step " + std::to_string(step);
  }
}

void add_sysctls(const Report& r, image::SysvIpc& ipc) {
  for (size_t i = 0; i < image::kMqueueSysctls.size(); ++i) {
    std::string value(r.sysctls[i], strnlen(r.sysctls[i], sizeof r.sysctls[i]));
    while (!value.empty() && value.back() == '\n') value.pop_back();
    auto* sysctl = ipc.add_mqueue_sysctls();
    sysctl->set_name(std::string(image::kMqueueSysctls[i]));
    sysctl->set_value(value);
  }
}

std::string notify_kind(int notify) {
  switch (notify) {
    case 0: return "SIGEV_SIGNAL";
    case 1: return "SIGEV_NONE";
    case 2: return "SIGEV_THREAD";
    default: return "notification " + std::to_string(notify);
  }
}

// Turns the child's records into queues, refusing what cryo cannot give back.
Result<> read_records(const char* buffer, int queues, image::SysvIpc& ipc) {
  size_t at = 0;
  for (int i = 0; i < queues; ++i) {
    QueueHeader header;
    std::memcpy(&header, buffer + at, sizeof header);
    at += sizeof header;
    std::string name(header.name, strnlen(header.name, sizeof header.name));
    std::string what = "POSIX message queue /" + name;
    ASSIGN_OR_RETURN_CTX(MqueueStatus status, parse_mqueue_status(std::string_view(header.status, header.status_length)), what);
    if (status.notify_pid != 0)
      return fail(make_error(what + " has mq_notify registered (" + notify_kind(status.notify) + ", by host pid " +
                             std::to_string(status.notify_pid) + "), which cryo cannot dump yet")
                      .with_hint("cancel the registration (mq_notify(mqd, NULL)) before the dump"));
    if (header.mode & ~0777u) return fail(what + " has mode bits " + std::to_string(header.mode) + " unknown to cryo, which cryo cannot dump");
    auto* queue = ipc.add_posix_queues();
    queue->set_name(name);
    queue->set_queue_id(header.ino);
    queue->set_mode(header.mode);
    queue->set_uid(header.uid);
    queue->set_gid(header.gid);
    queue->set_maxmsg(header.maxmsg);
    queue->set_msgsize(header.msgsize);
    size_t end = at + header.bytes;
    for (uint32_t m = 0; m < header.messages; ++m) {
      MessageHeader message;
      std::memcpy(&message, buffer + at, sizeof message);
      auto* out = queue->add_messages();
      out->set_priority(message.priority);
      out->set_text(buffer + at + sizeof message, message.length);
      at += align8(sizeof message + message.length);
    }
    if (at != end) return fail(what + ": the helper's record of its messages is inconsistent");
  }
  std::sort(ipc.mutable_posix_queues()->begin(), ipc.mutable_posix_queues()->end(),
            [](const auto& a, const auto& b) { return a.name() < b.name(); });
  return {};
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
  std::string ns_path = "/proc/" + std::to_string(pid) + "/ns/ipc";
  UniqueFd ns(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return fail_errno("open(" + ns_path + ")");
  // Room for every header, and for the messages within the budget; pages are only used as written.
  size_t capacity = static_cast<size_t>(budget) + image::kMqueueHardQueuesMax * sizeof(QueueHeader);
  void* buffer = ::mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (buffer == MAP_FAILED) return fail_errno("mmap(" + std::to_string(capacity) + " bytes for POSIX message queues)");
  struct Unmap {
    void* p;
    size_t n;
    ~Unmap() { ::munmap(p, n); }
  } unmap{buffer, capacity};
  char* bytes = static_cast<char*>(buffer);
  ASSIGN_OR_RETURN_CTX(std::string answer,
                       run_in_child({.what = "the helper in the tree's IPC namespace", .max_report = sizeof(Report)},
                                    [&](int out) { return list_in_child(ns.get(), bytes, capacity, out); }),
                       "read the tree's POSIX message queues");
  Report r{};
  if (answer.size() != sizeof r) return fail("read the tree's POSIX message queues: the helper in the tree's IPC namespace failed");
  std::memcpy(&r, answer.data(), sizeof r);
  auto queue_name = [&](int index) -> std::string {
    // The failing queue's header is the last one written: walk the complete ones before it.
    size_t at = 0;
    for (int i = 0; i < index && i < r.queues; ++i) {
      QueueHeader header;
      std::memcpy(&header, bytes + at, sizeof header);
      at += sizeof header + header.bytes;
    }
    QueueHeader header;
    std::memcpy(&header, bytes + at, sizeof header);
    return "POSIX message queue /" + std::string(header.name, strnlen(header.name, sizeof header.name));
  };
  switch (r.step) {
    case kDone:
      if (r.no_mqueues) return uint64_t{0};
      break;
    case kBudget:
      return fail(make_error("the tree's POSIX message queues, SysV message queues and shared memory hold more than the " +
                             std::to_string(budget) + " bytes left of what cryo stores, which cryo cannot dump")
                      .with_hint("empty the queues first"));
    case kSysctl:
      return fail(errno_error("read " + std::string(kSysctlPaths[r.index >= 0 && r.index < static_cast<int>(std::size(kSysctlPaths)) ? r.index : 0]), r.err)
                      .context("read the tree's fs.mqueue sysctls"));
    case kTooMany:
      return fail("the tree's IPC namespace holds more than " + std::to_string(image::kMqueueHardQueuesMax) + " POSIX message queues");
    case kSendBack:
      // The tree has lost messages: say so plainly (a --leave-running dump left it changed).
      return fail(errno_error("mq_send", r.err).context(queue_name(r.index) + ": sending its messages back failed; the queue lost them"));
    case kCount:
      return fail(queue_name(r.index) + ": it holds " + std::to_string(r.err) + " messages after they were sent back, not as many as before");
    default: {
      std::string what = r.index >= 0 ? queue_name(r.index) : "the tree's POSIX message queues";
      return fail(errno_error(step_name(r.step), r.err).context("read " + what));
    }
  }
  add_sysctls(r, ipc);
  RETURN_IF_ERROR(read_records(bytes, r.queues, ipc));
  return r.dev;
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
