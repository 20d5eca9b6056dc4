#include "kernel/proc_fdinfo.h"

#include <string>

#include "base/file_util.h"
#include "kernel/proc_text.h"

namespace cryo {
namespace {

// "(12, 500)" -> 12'000'000'500: a timespec as timerfd's fdinfo prints it.
Result<uint64_t> parse_timespec_pair(std::string_view value, const std::string& what) {
  value = proc_text::trim(value);
  if (value.size() < 5 || value.front() != '(' || value.back() != ')') return fail(what + ": '" + std::string(value) + "' is not (sec, nsec)");
  std::string_view inner = value.substr(1, value.size() - 2);
  size_t comma = inner.find(',');
  if (comma == std::string_view::npos) return fail(what + ": '" + std::string(value) + "' is not (sec, nsec)");
  ASSIGN_OR_RETURN(uint64_t sec, proc_text::parse_u64(proc_text::trim(inner.substr(0, comma)), 10, what));
  ASSIGN_OR_RETURN(uint64_t nsec, proc_text::parse_u64(proc_text::trim(inner.substr(comma + 1)), 10, what));
  if (nsec >= 1'000'000'000 || sec > UINT64_MAX / 1'000'000'000 - 1) return fail(what + ": '" + std::string(value) + "' is out of range");
  return sec * 1'000'000'000 + nsec;
}

// "tfd:        4 events:       1c data:               2a  pos:0 ino:40e sdev:10".
Result<EpollTargetInfo> parse_epoll_target(std::string_view line) {
  auto words = proc_text::fields(line);
  EpollTargetInfo target;
  bool have_fd = false, have_events = false, have_data = false;
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    if (words[i] == "tfd:") {
      ASSIGN_OR_RETURN(uint64_t fd, proc_text::parse_u64(words[i + 1], 10, "fdinfo tfd"));
      if (fd > INT32_MAX) return fail("fdinfo tfd " + std::to_string(fd) + " is out of range");
      target.fd = static_cast<int>(fd);
      have_fd = true;
    } else if (words[i] == "events:") {
      ASSIGN_OR_RETURN(uint64_t events, proc_text::parse_u64(words[i + 1], 16, "fdinfo epoll events"));
      target.events = static_cast<uint32_t>(events);
      have_events = true;
    } else if (words[i] == "data:") {
      ASSIGN_OR_RETURN(target.data, proc_text::parse_u64(words[i + 1], 16, "fdinfo epoll data"));
      have_data = true;
    }
  }
  if (!have_fd || !have_events || !have_data) return fail("fdinfo: malformed epoll line '" + std::string(line) + "'");
  return target;
}

// "a2010000e8f13c5e": a file handle's bytes, two hex digits each, at most MAX_HANDLE_SZ (128).
Result<std::string> parse_handle_bytes(std::string_view value, const std::string& what) {
  if (value.size() % 2 != 0 || value.size() > 2 * 128) return fail(what + " '" + std::string(value) + "' is malformed");
  std::string bytes;
  for (size_t i = 0; i < value.size(); i += 2) {
    ASSIGN_OR_RETURN(uint64_t byte, proc_text::parse_u64(value.substr(i, 2), 16, what));
    bytes.push_back(static_cast<char>(byte));
  }
  return bytes;
}

// "fanotify flags:10 event-flags:8002".
Result<FanotifyGroupInfo> parse_fanotify_group(std::string_view line) {
  FanotifyGroupInfo group;
  bool have_flags = false, have_event_flags = false;
  for (std::string_view word : proc_text::fields(line)) {
    size_t colon = word.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = word.substr(0, colon), value = word.substr(colon + 1);
    if (key == "flags") {
      ASSIGN_OR_RETURN(uint64_t flags, proc_text::parse_u64(value, 16, "fdinfo fanotify flags"));
      group.flags = static_cast<uint32_t>(flags);
      have_flags = true;
    } else if (key == "event-flags") {
      ASSIGN_OR_RETURN(uint64_t flags, proc_text::parse_u64(value, 16, "fdinfo fanotify event-flags"));
      group.event_flags = static_cast<uint32_t>(flags);
      have_event_flags = true;
    }
  }
  if (!have_flags || !have_event_flags) return fail("fdinfo: malformed fanotify line '" + std::string(line) + "'");
  return group;
}

// "fanotify ino:1a2 sdev:2d mflags:0 mask:2 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:...",
// "fanotify mnt_id:1c mflags:0 mask:2 ignored_mask:0", "fanotify sdev:2d mflags:0 mask:2 ignored_mask:0".
Result<FanotifyMarkInfo> parse_fanotify_mark(std::string_view line) {
  FanotifyMarkInfo mark;
  bool have_ino = false, have_sdev = false, have_mnt = false, have_mflags = false, have_mask = false, have_ignored = false;
  uint64_t handle_bytes = 0;
  for (std::string_view word : proc_text::fields(line)) {
    size_t colon = word.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = word.substr(0, colon), value = word.substr(colon + 1);
    uint64_t number = 0;
    if (key != "f_handle") {
      ASSIGN_OR_RETURN(number, proc_text::parse_u64(value, 16, "fdinfo fanotify " + std::string(key)));
    }
    if (key == "ino") {
      mark.ino = number;
      have_ino = true;
    } else if (key == "sdev") {
      mark.sdev = static_cast<uint32_t>(number);
      have_sdev = true;
    } else if (key == "mnt_id") {
      if (number > INT32_MAX) return fail("fdinfo fanotify mnt_id " + std::to_string(number) + " is out of range");
      mark.mnt_id = static_cast<int>(number);
      have_mnt = true;
    } else if (key == "mflags") {
      mark.mflags = static_cast<uint32_t>(number);
      have_mflags = true;
    } else if (key == "mask") {
      mark.mask = static_cast<uint32_t>(number);
      have_mask = true;
    } else if (key == "ignored_mask") {
      mark.ignored_mask = static_cast<uint32_t>(number);
      have_ignored = true;
    } else if (key == "fhandle-bytes") {
      handle_bytes = number;
    } else if (key == "fhandle-type") {
      mark.handle_type = static_cast<int>(number);
    } else if (key == "f_handle") {
      ASSIGN_OR_RETURN(mark.handle, parse_handle_bytes(value, "fdinfo fanotify f_handle"));
    }
  }
  bool shaped = have_mflags && have_mask && have_ignored &&
                (have_ino ? have_sdev && !have_mnt : have_mnt ? !have_sdev : have_sdev);
  if (!shaped) return fail("fdinfo: malformed fanotify line '" + std::string(line) + "'");
  mark.object = have_ino ? FanotifyMarkInfo::Object::Inode : have_mnt ? FanotifyMarkInfo::Object::Mount : FanotifyMarkInfo::Object::Filesystem;
  if (mark.handle.size() != handle_bytes) return fail("fdinfo: fanotify line '" + std::string(line) + "' has a handle of the wrong length");
  return mark;
}

// "inotify wd:3 ino:1a2 sdev:2d mask:fce ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:a2010000e8f13c5e".
Result<InotifyWatchInfo> parse_inotify_watch(std::string_view line) {
  InotifyWatchInfo watch;
  bool have_wd = false, have_ino = false, have_sdev = false, have_mask = false;
  uint64_t handle_bytes = 0;
  for (std::string_view word : proc_text::fields(line)) {
    size_t colon = word.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = word.substr(0, colon), value = word.substr(colon + 1);
    if (key == "wd") {
      ASSIGN_OR_RETURN(uint64_t wd, proc_text::parse_u64(value, 16, "fdinfo inotify wd"));
      if (wd == 0 || wd > INT32_MAX) return fail("fdinfo inotify wd " + std::to_string(wd) + " is out of range");
      watch.wd = static_cast<int>(wd);
      have_wd = true;
    } else if (key == "ino") {
      ASSIGN_OR_RETURN(watch.ino, proc_text::parse_u64(value, 16, "fdinfo inotify ino"));
      have_ino = true;
    } else if (key == "sdev") {
      ASSIGN_OR_RETURN(uint64_t sdev, proc_text::parse_u64(value, 16, "fdinfo inotify sdev"));
      watch.sdev = static_cast<uint32_t>(sdev);
      have_sdev = true;
    } else if (key == "mask") {
      ASSIGN_OR_RETURN(uint64_t mask, proc_text::parse_u64(value, 16, "fdinfo inotify mask"));
      watch.mask = static_cast<uint32_t>(mask);
      have_mask = true;
    } else if (key == "ignored_mask") {
      ASSIGN_OR_RETURN(uint64_t mask, proc_text::parse_u64(value, 16, "fdinfo inotify ignored_mask"));
      watch.ignored_mask = static_cast<uint32_t>(mask);
    } else if (key == "fhandle-bytes") {
      ASSIGN_OR_RETURN(handle_bytes, proc_text::parse_u64(value, 16, "fdinfo inotify fhandle-bytes"));
    } else if (key == "fhandle-type") {
      ASSIGN_OR_RETURN(uint64_t type, proc_text::parse_u64(value, 16, "fdinfo inotify fhandle-type"));
      watch.handle_type = static_cast<int>(type);
    } else if (key == "f_handle") {
      ASSIGN_OR_RETURN(watch.handle, parse_handle_bytes(value, "fdinfo inotify f_handle"));
    }
  }
  if (!have_wd || !have_ino || !have_sdev || !have_mask) return fail("fdinfo: malformed inotify line '" + std::string(line) + "'");
  if (watch.handle.size() != handle_bytes) return fail("fdinfo: inotify line '" + std::string(line) + "' has a handle of the wrong length");
  return watch;
}

TimerfdInfo& timer(FdInfo& info) {
  if (!info.timerfd) info.timerfd.emplace();
  return *info.timerfd;
}

}  // namespace

Result<FdInfo> parse_proc_fdinfo(std::string_view text) {
  FdInfo info;
  bool have_pos = false, have_flags = false;
  for (auto line : proc_text::lines(text)) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    std::string_view value = proc_text::trim(line.substr(colon + 1));
    if (key == "pos") {
      ASSIGN_OR_RETURN(info.pos, proc_text::parse_u64(value, 10, "fdinfo pos"));
      have_pos = true;
    } else if (key == "flags") {
      ASSIGN_OR_RETURN(uint64_t flags, proc_text::parse_u64(value, 8, "fdinfo flags"));
      info.flags = static_cast<uint32_t>(flags);
      have_flags = true;
    } else if (key == "mnt_id") {
      ASSIGN_OR_RETURN(uint64_t mnt, proc_text::parse_u64(value, 10, "fdinfo mnt_id"));
      info.mnt_id = static_cast<int>(mnt);
    } else if (key == "ino") {
      ASSIGN_OR_RETURN(info.ino, proc_text::parse_u64(value, 10, "fdinfo ino"));
    } else if (key == "eventfd-count") {
      // Printed in hex ("%16llx"), with no 0x.
      ASSIGN_OR_RETURN(info.eventfd_count, proc_text::parse_u64(value, 16, "fdinfo eventfd-count"));
    } else if (key == "eventfd-semaphore") {
      ASSIGN_OR_RETURN(uint64_t semaphore, proc_text::parse_u64(value, 10, "fdinfo eventfd-semaphore"));
      info.eventfd_semaphore = semaphore != 0;
    } else if (key == "clockid") {
      ASSIGN_OR_RETURN(uint64_t clock, proc_text::parse_u64(value, 10, "fdinfo clockid"));
      if (clock > 64) return fail("fdinfo clockid " + std::to_string(clock) + " is out of range");
      timer(info).clockid = static_cast<int>(clock);
    } else if (key == "ticks") {
      ASSIGN_OR_RETURN(timer(info).ticks, proc_text::parse_u64(value, 10, "fdinfo ticks"));
    } else if (key == "settime flags") {
      ASSIGN_OR_RETURN(uint64_t flags, proc_text::parse_u64(value, 8, "fdinfo settime flags"));
      timer(info).settime_flags = static_cast<uint32_t>(flags);
    } else if (key == "it_value") {
      ASSIGN_OR_RETURN(timer(info).value_ns, parse_timespec_pair(value, "fdinfo it_value"));
    } else if (key == "it_interval") {
      ASSIGN_OR_RETURN(timer(info).interval_ns, parse_timespec_pair(value, "fdinfo it_interval"));
    } else if (key == "Pid") {
      bool reaped = value == "-1";
      ASSIGN_OR_RETURN(uint64_t pid, reaped ? Result<uint64_t>(0) : proc_text::parse_u64(value, 10, "fdinfo Pid"));
      if (pid > INT32_MAX) return fail("fdinfo Pid " + std::string(value) + " is out of range");
      info.pidfd_pid = reaped ? -1 : static_cast<int>(pid);
    } else if (key == "sigmask") {
      ASSIGN_OR_RETURN(info.sigmask, proc_text::parse_u64(value, 16, "fdinfo sigmask"));
    } else if (key == "tfd") {
      ASSIGN_OR_RETURN(EpollTargetInfo target, parse_epoll_target(line));
      info.epoll_targets.push_back(target);
    } else if (key == "inotify wd") {
      ASSIGN_OR_RETURN(InotifyWatchInfo watch, parse_inotify_watch(line));
      info.inotify_watches.push_back(std::move(watch));
    } else if (key == "fanotify flags") {
      ASSIGN_OR_RETURN(info.fanotify, parse_fanotify_group(line));
    } else if (key == "fanotify ino" || key == "fanotify mnt_id" || key == "fanotify sdev") {
      ASSIGN_OR_RETURN(FanotifyMarkInfo mark, parse_fanotify_mark(line));
      info.fanotify_marks.push_back(std::move(mark));
    } else if (key == "lock") {
      info.locks.emplace_back(value);
    } else if (key == "scm_fds") {
      ASSIGN_OR_RETURN(uint64_t count, proc_text::parse_u64(value, 10, "fdinfo scm_fds"));
      info.scm_fds = static_cast<uint32_t>(count);
    }
  }
  if (!have_pos || !have_flags) return fail("fdinfo: no pos or flags line");
  return info;
}

Result<FdInfo> read_proc_fdinfo(pid_t pid, int fd) {
  ASSIGN_OR_RETURN(std::string text, read_file("/proc/" + std::to_string(pid) + "/fdinfo/" + std::to_string(fd)));
  auto info = parse_proc_fdinfo(text);
  if (!info) return fail(info.error().context("pid " + std::to_string(pid) + " fd " + std::to_string(fd)));
  return info;
}

}  // namespace cryo
