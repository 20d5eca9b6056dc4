// /proc/PID/fdinfo/N: position and open flags of one file descriptor.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace cryo {

// One "tfd:" line of an epoll fd: a registered file, by the fd number it was added under.
struct EpollTargetInfo {
  int fd = -1;
  uint32_t events = 0;
  uint64_t data = 0;
};

// One "inotify wd:" line of an inotify fd: a watch and the inode it is on. Every number is printed
// in hex, the wd too. The file handle is there only on a filesystem that can encode one.
struct InotifyWatchInfo {
  int wd = 0;
  uint64_t ino = 0;
  uint32_t sdev = 0;          // The kernel's dev_t of the inode's superblock: major << 20 | minor.
  uint32_t mask = 0;
  uint32_t ignored_mask = 0;
  int handle_type = 0;
  std::string handle;         // The f_handle bytes; empty when fdinfo shows none.
};

// The "fanotify flags:" line of a fanotify fd: the group's fanotify_init flags and event_f_flags,
// both in hex.
struct FanotifyGroupInfo {
  uint32_t flags = 0;
  uint32_t event_flags = 0;
};

// One "fanotify" mark line: on an inode ("ino:" with sdev and the file handle, as inotify's), on a
// mount ("mnt_id:") or on a filesystem ("sdev:" alone). Every number is in hex.
struct FanotifyMarkInfo {
  enum class Object { Inode, Mount, Filesystem };
  Object object = Object::Inode;
  uint64_t ino = 0;
  uint32_t sdev = 0;
  int mnt_id = 0;
  uint32_t mflags = 0;        // FAN_MARK_* flags of the mark (FAN_MARK_EVICTABLE, FAN_MARK_IGNORE, ...).
  uint32_t mask = 0;
  uint32_t ignored_mask = 0;
  int handle_type = 0;
  std::string handle;
};

struct TimerfdInfo {
  int clockid = 0;
  uint64_t ticks = 0;
  uint32_t settime_flags = 0;
  uint64_t value_ns = 0;     // it_value: the time left to the next expiry, 0 when not running.
  uint64_t interval_ns = 0;
};

struct FdInfo {
  uint64_t pos = 0;
  uint32_t flags = 0;   // Open flags as the kernel keeps them, O_CLOEXEC included when set.
  int mnt_id = 0;
  uint64_t ino = 0;     // Absent on kernels before 5.x; 0 then.
  // The kind-specific lines, each set only for its kind.
  std::optional<uint64_t> eventfd_count;
  bool eventfd_semaphore = false;
  std::optional<TimerfdInfo> timerfd;   // Set once "clockid:" is seen.
  std::optional<uint64_t> sigmask;      // signalfd
  std::vector<EpollTargetInfo> epoll_targets;
  std::vector<InotifyWatchInfo> inotify_watches;
  std::optional<FanotifyGroupInfo> fanotify;
  std::vector<FanotifyMarkInfo> fanotify_marks;
  std::optional<uint32_t> scm_fds;      // Unix sockets: fds in flight in the receive queue.
  // pidfds: "Pid:", the PID in the reader's /proc's namespace; -1 once the process was reaped, 0 when
  // it is not in that namespace.
  std::optional<int> pidfd_pid;
  std::vector<std::string> locks;       // The text of each "lock:" line (file_locks.h parses it).
};

// Parses the common lines of fdinfo text ("pos:", "flags:" in octal, "mnt_id:", "ino:") and the
// kind-specific ones of eventfd, timerfd, signalfd, epoll, inotify, fanotify, unix sockets and pidfds; other lines are ignored.
Result<FdInfo> parse_proc_fdinfo(std::string_view text);
Result<FdInfo> read_proc_fdinfo(pid_t pid, int fd);

}  // namespace cryo
