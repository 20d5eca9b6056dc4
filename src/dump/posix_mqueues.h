// POSIX message queues of a tree that has its own IPC namespace, into sysv.img: every queue of the
// namespace's mqueue filesystem (a queue lives by name until mq_unlink, open or not) with its
// owner, mode, attributes and messages, and the namespace's fs.mqueue sysctls. Reading a message
// takes it (there is no peek), so a thread of cryo that joined the IPC namespace reads every
// message of a queue and sends them back at once in the same order, while the tree is frozen: the
// queue is as it was when the tree runs on (--leave-running), and the tree never sees it empty.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/error.h"
#include "files.pb.h"
#include "sysv.pb.h"

namespace cryo::dump {

// What a queue's file reads: "QSIZE:%-10lu NOTIFY:%-5d SIGNO:%-5d NOTIFY_PID:%-6d".
struct MqueueStatus {
  uint64_t qsize = 0;
  int notify = 0;      // SIGEV_SIGNAL (0), SIGEV_NONE (1) or SIGEV_THREAD (2); only meaningful with notify_pid.
  int signo = 0;
  int notify_pid = 0;  // 0: no mq_notify registered. A PID of the reader's PID namespace.
};
Result<MqueueStatus> parse_mqueue_status(std::string_view text);

// Adds every queue of the IPC namespace of `pid` to ipc.posix_queues (sorted by name) and its
// fs.mqueue sysctls to ipc.mqueue_sysctls. Refuses a queue with mq_notify registered, and queues
// that hold more than `budget` bytes. The tree must be frozen. Returns the device number of the
// namespace's mqueue filesystem (its queues' st_dev).
Result<uint64_t> collect_posix_mqueues(pid_t pid, image::SysvIpc& ipc, uint64_t budget);

// The mqueue filesystem's statfs f_type (ipc/mqueue.c; <linux/magic.h> does not have it).
inline constexpr unsigned long kMqueueMagic = 0x19800202;

// Fills `out` (its flags already read from fdinfo) as an FD_POSIX_MQUEUE fd of the queue whose
// inode `link` names; refuses status flags an mq_open cannot give back. False: closed meanwhile.
Result<bool> collect_mqueue_fd(int fd, const std::string& target, const std::string& link, image::Fd& out);

// Ties every FD_POSIX_MQUEUE fd of `files` (by host PID) to its queue in `ipc` (by inode) and sets
// its path to "/" and the queue's name; refuses an fd of a queue unlinked while open (it has no name)
// and one of another IPC namespace's mqueue filesystem (not `mqueue_dev`: the host's, mounted).
Result<> attach_mqueue_fds(const image::SysvIpc& ipc, uint64_t mqueue_dev, std::map<pid_t, image::ProcessFiles>& files,
                           const std::map<pid_t, uint32_t>& pid_inside);

}  // namespace cryo::dump
