#include "verify/fingerprint_reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <string>
#include <string_view>

#include "base/file_util.h"
#include "base/parallel_for.h"
#include "base/unique_fd.h"
#include "ptrace/tracee.h"
#include "verify/fingerprint_rules.h"

namespace cryo::verify {
namespace {

using image::ProcessFingerprint;

Result<std::string> link_of(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  if (n < 0) return fail_errno("readlink(" + path + ")");
  return std::string(buf, static_cast<size_t>(n));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

// Runs of blanks become one space, so columns padded differently compare equal.
std::string squeeze(std::string_view s) {
  std::string out;
  bool blank = false;
  for (char c : trim(s)) {
    if (c == ' ' || c == '\t') {
      blank = true;
      continue;
    }
    if (blank && !out.empty()) out += ' ';
    blank = false;
    out += c;
  }
  return out;
}

template <typename F>
void each_line(std::string_view text, F&& f) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    f(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::string hex_of(std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// Host PID -> the PID the tree sees, for values that name other processes.
using PidView = std::map<pid_t, pid_t>;

// A group or session of host PID 0 is the kernel's, which PID 1 and whatever it starts without a
// setsid or setpgid are in (CI's runner, for one). Inside the tree it reads as 0, as one led by any
// other process outside does, and a restore, which puts the tree in the restorer's, cannot join it.
std::string as_seen_inside(const PidView& view, std::string_view host, bool zero_is_outside = false) {
  long value = std::strtol(std::string(host).c_str(), nullptr, 10);
  if (value == 0 && zero_is_outside) return "outside the tree";
  if (value <= 0) return std::string(host);  // 0: none; -1: no terminal's group.
  auto it = view.find(static_cast<pid_t>(value));
  return it == view.end() ? "outside the tree" : std::to_string(it->second);
}

class Recorder {
 public:
  explicit Recorder(ProcessFingerprint* out) : out_(out) {}
  void add(const std::string& subject, std::string_view file, std::string_view name, std::string_view value) {
    if (!is_recorded(file, name)) return;
    auto* f = out_->add_fields();
    f->set_subject(subject);
    f->set_file(std::string(file));
    f->set_name(std::string(name));
    f->set_value(std::string(value));
  }

 private:
  ProcessFingerprint* out_;
};

// "Key:\tvalue" lines (status, fdinfo).
void record_colon_lines(Recorder& r, const std::string& subject, std::string_view file, std::string_view text) {
  each_line(text, [&](std::string_view line) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return;
    std::string_view key = trim(line.substr(0, colon));
    std::string value = squeeze(line.substr(colon + 1));
    // epoll lists each watch as "tfd: N events: ..."; inotify as "inotify wd:N ...".
    // One entry per lock too: "lock:\t1: POSIX ..." is "lock 1".
    if (key == "lock") {
      auto w = words(value);
      std::string id(w.empty() ? "" : w[0]);
      if (id.ends_with(':')) id.pop_back();
      r.add(subject, file, "lock " + id, value);
      return;
    }
    if (key == "tfd" || key == "inotify" || key == "fanotify") {
      auto w = words(value);
      r.add(subject, file, std::string(key) + " " + std::string(w.empty() ? "" : w[0]), value);
      return;
    }
    // The first colon of "inotify wd:3 ino:..." is the wd's: one entry per watch, "inotify 3" (the
    // wd as fdinfo prints it, in hex), its whole line the value.
    if (key == "inotify wd") {
      auto w = words(value);
      r.add(subject, file, "inotify " + std::string(w.empty() ? "" : w[0]), "wd:" + value);
      return;
    }
    r.add(subject, file, key, value);
  });
}

// stat's fields after "(comm)", named as in proc(5), from field 3 on.
constexpr std::array<std::string_view, 50> kStatNames = {
    "state",      "ppid",        "pgrp",       "session",    "tty_nr",     "tpgid",       "flags",     "minflt",
    "cminflt",    "majflt",      "cmajflt",    "utime",      "stime",      "cutime",      "cstime",    "priority",
    "nice",       "num_threads", "itrealvalue", "starttime", "vsize",      "rss",         "rsslim",    "startcode",
    "endcode",    "startstack",  "kstkesp",    "kstkeip",    "signal",     "blocked",     "sigignore", "sigcatch",
    "wchan",      "nswap",       "cnswap",     "exit_signal", "processor", "rt_priority", "policy",    "delayacct_blkio_ticks",
    "guest_time", "cguest_time", "start_data", "end_data",   "start_brk",  "arg_start",   "arg_end",   "env_start",
    "env_end",    "exit_code"};

Result<> record_stat(Recorder& r, const std::string& subject, const std::string& path, const PidView& view) {
  ASSIGN_OR_RETURN(std::string text, read_file(path));
  size_t close = text.rfind(')');
  if (close == std::string::npos) return fail(path + ": no ')' after the command name");
  auto w = words(std::string_view(text).substr(close + 1));
  for (size_t i = 0; i < w.size() && i < kStatNames.size(); ++i) {
    std::string_view name = kStatNames[i];
    bool names_a_process = name == "ppid" || name == "pgrp" || name == "session" || name == "tpgid";
    bool names_a_group = name == "pgrp" || name == "session";
    r.add(subject, "stat", name, names_a_process ? as_seen_inside(view, w[i], names_a_group) : std::string(w[i]));
  }
  return {};
}

// /proc/PID/smaps: a header line per mapping, then "Key: value" lines. `text` receives the file.
Result<> record_mappings(Recorder& r, const std::string& dir, std::string& text) {
  ASSIGN_OR_RETURN(text, read_file(dir + "/smaps"));
  std::string subject;
  Result<> status;
  each_line(text, [&](std::string_view line) {
    auto w = words(line);
    if (w.empty()) return;
    bool header = w[0].find('-') != std::string_view::npos && w[0].back() != ':';
    if (header) {
      if (w.size() < 5) {
        status = fail(dir + "/smaps: short mapping line '" + std::string(line) + "'");
        return;
      }
      subject = "map " + std::string(w[0]);
      r.add(subject, "maps", "perms", w[1]);
      r.add(subject, "maps", "offset", w[2]);
      // The path may contain spaces: everything after the inode.
      size_t inode_at = line.find(w[4], line.find(w[3]) + w[3].size());
      std::string_view path = trim(line.substr(inode_at + w[4].size()));
      r.add(subject, "maps", "file", std::string(w[3]) + " " + std::string(w[4]) + " " + std::string(path));
      return;
    }
    if (subject.empty()) return;
    std::string_view key = w[0];
    if (key.back() != ':') return;
    key.remove_suffix(1);
    size_t colon = line.find(':');
    r.add(subject, "smaps", key, squeeze(line.substr(colon + 1)));
  });
  return status;
}

// /proc/PID/limits: a header, then "Name  soft  hard  units" in fixed columns.
Result<> record_limits(Recorder& r, const std::string& dir) {
  ASSIGN_OR_RETURN(std::string text, read_file(dir + "/limits"));
  bool first = true;
  each_line(text, [&](std::string_view line) {
    if (first || line.size() < 26) {
      first = false;
      return;
    }
    r.add("process", "limits", trim(line.substr(0, 26)), squeeze(line.substr(26)));
  });
  return {};
}

Result<std::vector<int>> list_fds(const std::string& dir) {
  DIR* d = ::opendir((dir + "/fd").c_str());
  if (!d) return fail_errno("opendir(" + dir + "/fd)");
  std::vector<int> fds;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') fds.push_back(std::atoi(e->d_name));
  ::closedir(d);
  std::sort(fds.begin(), fds.end());
  return fds;
}

Result<> record_fd(Recorder& r, const std::string& dir, int fd) {
  std::string subject = "fd " + std::to_string(fd);
  std::string n = std::to_string(fd);
  ASSIGN_OR_RETURN(std::string link, link_of(dir + "/fd/" + n));
  r.add(subject, "fd", "link", link);
  ASSIGN_OR_RETURN(std::string info, read_file(dir + "/fdinfo/" + n));
  record_colon_lines(r, subject, "fdinfo", info);
  return {};
}

// Host TID -> its rseq registration as recorded, read by the tracer (read_fingerprints).
using RseqView = std::map<pid_t, std::string>;

std::string rseq_text(pid_t tid) {
  auto rseq = read_rseq_config(tid);
  return !rseq ? "unreadable: " + std::string(std::strerror(rseq.error().err))
               : std::to_string(rseq->address) + " size " + std::to_string(rseq->length) + " flags " +
                     std::to_string(rseq->flags) + " signature " + std::to_string(rseq->signature);
}

// What only a tracer or a syscall can read from outside the thread (the tracer's part in `rseq`).
void record_thread_syscalls(Recorder& r, const std::string& subject, pid_t tid, const RseqView& rseq) {
  r.add(subject, "rseq", "config", rseq.at(tid));

  struct {
    uint32_t size;
    uint32_t policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
    uint32_t util_min, util_max;
  } attr{};
  if (::syscall(SYS_sched_getattr, tid, &attr, sizeof attr, 0) == 0) {
    r.add(subject, "sched_getattr", "policy", std::to_string(attr.policy));
    r.add(subject, "sched_getattr", "flags", std::to_string(attr.flags));
    r.add(subject, "sched_getattr", "nice", std::to_string(attr.nice));
    r.add(subject, "sched_getattr", "priority", std::to_string(attr.priority));
    r.add(subject, "sched_getattr", "deadline",
          std::to_string(attr.runtime) + " " + std::to_string(attr.deadline) + " " + std::to_string(attr.period));
  } else {
    r.add(subject, "sched_getattr", "error", std::strerror(errno));
  }
  constexpr int kIoprioWhoProcess = 1;
  long ioprio = ::syscall(SYS_ioprio_get, kIoprioWhoProcess, tid);
  r.add(subject, "ioprio", "value", ioprio < 0 ? std::string(std::strerror(errno)) : std::to_string(ioprio));
}

// The innermost entry of "NSpid:\t1234\t5": the PID the tree sees.
Result<pid_t> pid_inside(const std::string& status_path) {
  ASSIGN_OR_RETURN(std::string text, read_file(status_path));
  pid_t inside = 0;
  each_line(text, [&](std::string_view line) {
    if (!line.starts_with("NSpid:")) return;
    auto w = words(line.substr(6));
    if (!w.empty()) inside = static_cast<pid_t>(std::strtol(std::string(w.back()).c_str(), nullptr, 10));
  });
  if (inside <= 0) return fail(status_path + ": no NSpid line");
  return inside;
}

Result<std::vector<pid_t>> tids_of(const std::string& dir) {
  DIR* d = ::opendir((dir + "/task").c_str());
  if (!d) return fail_errno("opendir(" + dir + "/task)");
  std::vector<pid_t> tids;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') tids.push_back(std::atoi(e->d_name));
  ::closedir(d);
  std::sort(tids.begin(), tids.end());
  return tids;
}

// `view` already holds the thread's PID inside (read_fingerprints read its NSpid).
Result<> record_thread(Recorder& r, const std::string& dir, pid_t tid, const PidView& view, const RseqView& rseq) {
  std::string task = dir + "/task/" + std::to_string(tid);
  std::string subject = "tid " + std::to_string(view.at(tid));
  ASSIGN_OR_RETURN(std::string status, read_file(task + "/status"));
  each_line(status, [&](std::string_view line) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return;
    std::string_view key = trim(line.substr(0, colon));
    std::string value = squeeze(line.substr(colon + 1));
    if (key == "PPid") value = as_seen_inside(view, value);
    r.add(subject, "status", key, value);
  });
  RETURN_IF_ERROR(record_stat(r, subject, task + "/stat", view));
  ASSIGN_OR_RETURN(std::string comm, read_file(task + "/comm"));
  r.add(subject, "comm", "comm", trim(comm));
  if (auto children = read_file(task + "/children")) {
    std::string seen;
    for (auto child : words(*children)) seen += (seen.empty() ? "" : " ") + as_seen_inside(view, child);
    r.add(subject, "children", "children", seen);
  }
  // The syscall the thread was in (its number; "running" or -1 outside one): explains a signal
  // mask that a sigsuspend-like call replaced for its duration (fingerprint_rules.cc).
  if (auto syscall = read_file(task + "/syscall")) {
    auto w = words(*syscall);
    r.add(subject, "syscall", "nr", w.empty() ? "" : std::string(w[0]));
  }
  record_thread_syscalls(r, subject, tid, rseq);
  return {};
}

// What a process has besides its threads and fds: read after its threads, before its fds. `smaps`
// receives the text of /proc/PID/smaps.
Result<> record_process_head(Recorder& r, const std::string& dir, std::string& smaps) {
  RETURN_IF_ERROR(record_mappings(r, dir, smaps));
  return record_limits(r, dir);
}

// What a process has besides its threads and fds: read after its fds. /proc only, as every part.
Result<> record_process_tail(Recorder& r, pid_t host_pid, size_t fd_count, const PidView& view) {
  std::string dir = "/proc/" + std::to_string(host_pid);
  r.add("process", "fd", "count", std::to_string(fd_count));
  for (const char* name : {"personality", "oom_score_adj", "oom_score", "timerslack_ns", "coredump_filter", "cmdline", "cgroup"}) {
    ASSIGN_OR_RETURN(std::string text, read_file(dir + "/" + name));
    std::string value = name == std::string_view("cmdline") ? hex_of(text) : std::string(trim(text));
    std::replace(value.begin(), value.end(), '\n', ' ');  // cgroup has a line per hierarchy; errors are one line.
    r.add("process", name, name, value);
  }
  // The autogroup's ID is the host's count of them: only its nice is the process's.
  if (auto autogroup = read_file(dir + "/autogroup"); autogroup) {
    std::string_view text = trim(*autogroup);  // Empty for the root autogroup, which has no nice.
    r.add("process", "autogroup", "nice", text.empty() ? "root" : std::string(text.substr(text.rfind(' ') + 1)));
  }
  ASSIGN_OR_RETURN(std::string auxv, read_file(dir + "/auxv"));
  r.add("process", "auxv", "auxv", hex_of(auxv));
  // POSIX timers: "ID: 1 / signal: 14/... / notify: signal/pid.1234 / ClockID: 1", the target
  // thread by its host TID.
  ASSIGN_OR_RETURN(std::string timers, read_file(dir + "/timers"));
  std::string timer, timer_id;
  each_line(timers, [&](std::string_view line) {
    if (line.starts_with("ID:")) {
      if (!timer.empty()) r.add("process", "timers", timer_id, timer);
      timer.clear();
      timer_id = squeeze(line);
      return;
    }
    size_t dot = line.find("pid.");
    if (dot == std::string_view::npos) dot = line.find("tid.");
    if (line.starts_with("notify:") && dot != std::string_view::npos)
      timer += std::string(line.substr(0, dot + 4)) + as_seen_inside(view, line.substr(dot + 4)) + "; ";
    else
      timer += squeeze(line) + "; ";
  });
  if (!timer.empty()) r.add("process", "timers", timer_id, timer);
  for (const char* name : {"cwd", "root", "exe"}) {
    ASSIGN_OR_RETURN(std::string link, link_of(dir + "/" + name));
    r.add("process", name, name, link);
  }
  // A process that is not dumpable (prctl PR_SET_DUMPABLE 0, or after a setuid change) has its
  // /proc/PID owned by root: the one place the kernel shows that flag from outside.
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return fail_errno("stat(" + dir + ")");
  r.add("process", "proc_owner", "owner", std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid));
  return {};
}

// One piece of a process's fingerprint, read on its own (and so on any thread): a thread, the
// process's head, an fd, or its tail. Its fields are put together in this order, which is the
// order one thread reading everything would record them in.
struct Piece {
  enum Kind { Thread, Head, Fd, Tail } kind;
  size_t process;  // Index into the live processes.
  int item = 0;    // The host TID of a Thread, the fd number of an Fd.
};

}  // namespace

// The /proc reads run on every CPU (base/parallel_for.h), each piece (Piece) into its own slot, so
// the fingerprints are the same whichever thread read them; what needs ptrace (rseq) is read by
// the calling thread, the tracer, in between. A tree of 1,000 processes took 1.1 s on one CPU.
Result<std::vector<ProcessFingerprint>> read_fingerprints(const std::vector<pid_t>& host_pids,
                                                          const std::vector<pid_t>& zombies,
                                                          std::vector<std::string>* smaps_read) {
  std::vector<pid_t> everyone = host_pids;
  everyone.insert(everyone.end(), zombies.begin(), zombies.end());
  // Each process's threads, and each thread's PID inside: the view the values are translated by.
  std::vector<std::vector<pid_t>> tids(everyone.size());
  std::vector<std::vector<pid_t>> insides(everyone.size());
  RETURN_IF_ERROR(parallel_for(everyone.size(), [&](size_t i) -> Result<> {
    std::string dir = "/proc/" + std::to_string(everyone[i]);
    ASSIGN_OR_RETURN(tids[i], tids_of(dir));
    if (tids[i].empty()) tids[i].push_back(everyone[i]);  // A zombie's task directory is empty.
    for (pid_t tid : tids[i]) {
      ASSIGN_OR_RETURN(pid_t inside, pid_inside(dir + "/task/" + std::to_string(tid) + "/status"));
      insides[i].push_back(inside);
    }
    return {};
  }));
  PidView view;
  for (size_t i = 0; i < everyone.size(); ++i)
    for (size_t t = 0; t < tids[i].size(); ++t) view[tids[i][t]] = insides[i][t];
  RseqView rseq;
  for (size_t i = 0; i < host_pids.size(); ++i)
    for (pid_t tid : tids[i]) rseq[tid] = rseq_text(tid);
  std::vector<std::vector<int>> fds(host_pids.size());
  RETURN_IF_ERROR(parallel_for(host_pids.size(), [&](size_t i) -> Result<> {
    ASSIGN_OR_RETURN(fds[i], list_fds("/proc/" + std::to_string(host_pids[i])));
    return {};
  }));
  // Pieces, not processes, are what the threads share out: one process of 1,000 threads or of
  // 10,000 fds is read on every CPU too.
  std::vector<Piece> pieces;
  for (size_t i = 0; i < host_pids.size(); ++i) {
    for (pid_t tid : tids[i]) pieces.push_back({Piece::Thread, i, tid});
    pieces.push_back({Piece::Head, i});
    for (int fd : fds[i]) pieces.push_back({Piece::Fd, i, fd});
    pieces.push_back({Piece::Tail, i});
  }
  std::vector<ProcessFingerprint> parts(pieces.size());
  std::vector<std::string> smaps(host_pids.size());  // Each written by its process's Head piece only.
  RETURN_IF_ERROR(parallel_for(pieces.size(), [&](size_t k) -> Result<> {
    const Piece& piece = pieces[k];
    pid_t pid = host_pids[piece.process];
    std::string dir = "/proc/" + std::to_string(pid);
    Recorder r(&parts[k]);
    Result<> read;
    switch (piece.kind) {
      case Piece::Thread: read = record_thread(r, dir, piece.item, view, rseq); break;
      case Piece::Head: read = record_process_head(r, dir, smaps[piece.process]); break;
      case Piece::Fd: read = record_fd(r, dir, piece.item); break;
      case Piece::Tail: read = record_process_tail(r, pid, fds[piece.process].size(), view); break;
    }
    if (!read) return fail(read.error().context("fingerprint of host pid " + std::to_string(pid)));
    return {};
  }));
  std::vector<ProcessFingerprint> prints(host_pids.size());
  for (size_t i = 0; i < host_pids.size(); ++i) prints[i].set_pid(static_cast<uint32_t>(view.at(host_pids[i])));
  for (size_t k = 0; k < pieces.size(); ++k) {
    auto* fields = prints[pieces[k].process].mutable_fields();
    for (auto& field : *parts[k].mutable_fields()) fields->Add(std::move(field));
  }
  if (smaps_read) *smaps_read = std::move(smaps);
  return prints;
}

}  // namespace cryo::verify
