#include "restore/image_validation.h"

#include <cctype>

#include <fcntl.h>
#include <linux/prctl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <time.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <set>

#include "base/hex.h"
#include "restore/cgroups.h"
#include "state/files/fd_kinds.h"

namespace cryo::restore {
namespace {

constexpr uint64_t kCanonicalLimit = 0x800000000000;
constexpr uint64_t kAllCaps = (1ull << 41) - 1;  // CAP_LAST_CAP is 40 (CAP_CHECKPOINT_RESTORE).
constexpr size_t kSiginfoSize = 128;
constexpr size_t kXsaveHeaderEnd = 512 + 64;       // Legacy FXSAVE area plus the XSAVE header.
constexpr size_t kMaxXstateSize = 1 << 20;
constexpr int kRlimitCount = 16;                   // RLIM_NLIMITS
constexpr int kMaxThreads = 4096;
constexpr int kMaxPosixTimers = 65536;
constexpr size_t kMaxAffinityBytes = 1024;          // 8192 CPUs: a cpu_set_t is 128 bytes.
constexpr uint64_t kMaxTimerNs = uint64_t(1) << 62;  // About 146 years: more is no time a kernel timer holds.                  // Per process; bounds the work an image can ask for.

class Problems {
 public:
  Problems(std::string where, std::vector<std::string>* out) : where_(std::move(where)), out_(out) {}
  void add(const std::string& text) { out_->push_back(where_ + ": " + text); }

 private:
  std::string where_;
  std::vector<std::string>* out_;
};

void validate_sched(const image::SchedState& s, const std::string& thread, Problems& p) {
  // SCHED_OTHER, FIFO, RR, BATCH, IDLE, DEADLINE (4 is unused).
  if (s.policy() > 6 || s.policy() == 4) p.add(thread + ": scheduling policy " + std::to_string(s.policy()) + " is unknown");
  if (s.nice() < -20 || s.nice() > 19) p.add(thread + ": nice " + std::to_string(s.nice()) + " is out of -20..19");
  if (s.priority() > 99) p.add(thread + ": real-time priority " + std::to_string(s.priority()) + " is out of 0..99");
  if (s.affinity().size() > kMaxAffinityBytes) p.add(thread + ": its CPU mask is too large");
  if ((s.ioprio() >> 13) > 3 || (s.ioprio() & 0x1fff) > 7) p.add(thread + ": I/O priority " + hex(s.ioprio()) + " is invalid");
}

void validate_thread(const image::ThreadCore& t, uint64_t xsave_features, Problems& p) {
  std::string thread = "thread " + std::to_string(t.tid());
  if (t.gpregs().size() != sizeof(user_regs_struct))
    p.add(thread + ": general registers are " + std::to_string(t.gpregs().size()) + " bytes, expected " +
          std::to_string(sizeof(user_regs_struct)));
  if (t.xstate().size() < kXsaveHeaderEnd || t.xstate().size() > kMaxXstateSize) {
    p.add(thread + ": xstate area of " + std::to_string(t.xstate().size()) + " bytes is not a valid XSAVE area");
  } else {
    uint64_t xstate_bv = 0, xcomp_bv = 0;
    std::memcpy(&xstate_bv, t.xstate().data() + 512, sizeof xstate_bv);
    std::memcpy(&xcomp_bv, t.xstate().data() + 520, sizeof xcomp_bv);
    // ptrace hands out and takes the standard (uncompacted) format only.
    if (xcomp_bv != 0) p.add(thread + ": xstate is in the compacted format (XCOMP_BV " + hex(xcomp_bv) + ")");
    if (xstate_bv & ~xsave_features)
      p.add(thread + ": xstate holds components " + hex(xstate_bv) + " outside the image's XCR0 " + hex(xsave_features));
  }
  for (const auto& info : t.pending()) {
    int signo = 0;
    if (info.size() == kSiginfoSize) std::memcpy(&signo, info.data(), sizeof signo);
    if (info.size() != kSiginfoSize || signo < 1 || signo > 64) p.add(thread + ": a pending signal record is malformed");
  }
  const auto& ss = t.altstack();
  if (!(ss.flags() & SS_DISABLE) && (ss.sp() == 0 || !is_user_address(ss.sp()) || ss.size() > kCanonicalLimit ||
                                     !is_user_address(ss.sp() + ss.size() - 1)))
    p.add(thread + ": signal stack " + hex(ss.sp()) + "+" + std::to_string(ss.size()) + " is outside user space");
  if (t.rseq().address() != 0) {
    if (t.rseq().length() < 32 || t.rseq().address() % 32 != 0 || !is_user_address(t.rseq().address()))
      p.add(thread + ": rseq area " + hex(t.rseq().address()) + " of " + std::to_string(t.rseq().length()) +
            " bytes is not a valid registration");
  }
  if (t.robust_list() != 0 && (t.robust_list_len() != 24 || !is_user_address(t.robust_list())))
    p.add(thread + ": robust list head " + hex(t.robust_list()) + " (length " + std::to_string(t.robust_list_len()) +
          ") is invalid");
  if (t.clear_child_tid() != 0 && !is_user_address(t.clear_child_tid()))
    p.add(thread + ": clear_child_tid " + hex(t.clear_child_tid()) + " is outside user space");
  if (t.comm().size() > 15) p.add(thread + ": comm '" + t.comm() + "' is longer than 15 bytes");
  if (t.comm().find('\0') != std::string::npos) p.add(thread + ": comm holds a NUL byte");
  if (t.has_sched()) validate_sched(t.sched(), thread, p);
}

void validate_mm_fields(const image::MmFields& mm, Problems& p) {
  const std::pair<const char*, uint64_t> fields[] = {
      {"start_code", mm.start_code()}, {"end_code", mm.end_code()},       {"start_data", mm.start_data()},
      {"end_data", mm.end_data()},     {"start_brk", mm.start_brk()},     {"brk", mm.brk()},
      {"start_stack", mm.start_stack()}, {"arg_start", mm.arg_start()},   {"arg_end", mm.arg_end()},
      {"env_start", mm.env_start()},   {"env_end", mm.env_end()},
  };
  for (const auto& [name, value] : fields)
    if (!is_user_address(value)) p.add(std::string("mm field ") + name + " " + hex(value) + " is outside user space");
  // The pairs the kernel's PR_SET_MM_MAP insists on.
  if (mm.start_code() >= mm.end_code()) p.add("mm: start_code is not below end_code");
  if (mm.start_data() > mm.end_data()) p.add("mm: start_data is above end_data");
  if (mm.start_brk() > mm.brk()) p.add("mm: start_brk is above brk");
  if (mm.arg_start() > mm.arg_end()) p.add("mm: arg_start is above arg_end");
  if (mm.env_start() > mm.env_end()) p.add("mm: env_start is above env_end");
  if (mm.auxv().size() % 16 != 0 || mm.auxv().size() > 4096)
    p.add("mm: auxv of " + std::to_string(mm.auxv().size()) + " bytes is not a list of (type, value) pairs");
  if (!is_clean_absolute_path(mm.exe())) p.add("executable path '" + mm.exe() + "' is not a clean absolute path");
}

// Holders of one open file read its state at one freeze, so it must agree (as its kind compares it).
bool same_kind_state(const image::Fd& a, const image::Fd& b) {
  const state::FdKindOps* ops = state::find_fd_kind(a.kind());
  return !ops || !ops->same_state || ops->same_state(a, b);
}

// A job-control stop is one of the four stop signals and holds every thread, as the kernel's group
// stop does once it has completed (dump refuses one caught half-way).
void validate_job_control_stop(const image::ProcessCore& core, Problems& p) {
  uint32_t sig = core.stop_signal();
  if (sig != 0 && sig != SIGSTOP && sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU)
    p.add("stopped by signal " + std::to_string(sig) + ", which is not a job-control stop signal");
  // Only SIG_DFL stops on SIGTSTP, SIGTTIN, SIGTTOU; restore sends the signal again.
  for (const auto& a : core.sigactions())
    if (sig != 0 && a.signo() == sig && a.handler() != 0)
      p.add("stopped by signal " + std::to_string(sig) + " but has a handler for it");
  if (sig == 0 && core.stop_reported()) p.add("its job-control stop is marked as reported but it was not stopped");
  for (const auto& t : core.threads())
    if (t.group_stopped() != (sig != 0))
      p.add("thread " + std::to_string(t.tid()) + (sig != 0 ? " is not" : " is") + " in the process's job-control stop");
}

}  // namespace

bool is_user_address(uint64_t address) { return address < kCanonicalLimit; }

bool is_clean_absolute_path(const std::string& path) {
  if (path.empty() || path[0] != '/' || path.size() >= 4096 || path.find('\0') != std::string::npos) return false;
  if (path == "/") return true;
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    std::string_view component(path.data() + pos, slash - pos);
    if (component.empty() || component == "." || component == "..") return false;
    pos = slash + 1;
  }
  return true;
}

void validate_posix_timers(const image::ProcessCore& core, Problems& p) {
  if (core.posix_timers_size() > kMaxPosixTimers) p.add("has more than " + std::to_string(kMaxPosixTimers) + " POSIX timers");
  std::set<uint32_t> tids;
  for (const auto& t : core.threads()) tids.insert(t.tid());
  std::set<int32_t> ids;
  for (const auto& t : core.posix_timers()) {
    std::string timer = "POSIX timer " + std::to_string(t.id());
    if (t.id() < 0 || !ids.insert(t.id()).second) p.add(timer + " has an invalid or repeated ID");
    if (t.clock_id() != CLOCK_REALTIME && t.clock_id() != CLOCK_MONOTONIC && t.clock_id() != CLOCK_BOOTTIME && t.clock_id() != CLOCK_TAI)
      p.add(timer + ": clock " + std::to_string(t.clock_id()) + " is not one cryo restores");
    bool by_thread = t.notify() == (SIGEV_SIGNAL | SIGEV_THREAD_ID);
    if (t.notify() != SIGEV_SIGNAL && t.notify() != SIGEV_NONE && !by_thread)
      p.add(timer + ": notification kind " + std::to_string(t.notify()) + " is not one cryo restores");
    if (t.notify() != SIGEV_NONE && (t.signo() < 1 || t.signo() > 64)) p.add(timer + ": signal " + std::to_string(t.signo()) + " is not a signal");
    if (by_thread && !tids.count(t.notify_tid())) p.add(timer + " signals thread " + std::to_string(t.notify_tid()) + ", not one of the process's");
    if (t.value_ns() > kMaxTimerNs || t.interval_ns() > kMaxTimerNs) p.add(timer + ": its time is out of range");
  }
}

void validate_core(const ProcessImage& process, uint64_t xsave_features, std::vector<std::string>* problems) {
  Problems p("pid " + std::to_string(process.pid()), problems);
  const auto& core = process.core;
  if (core.pid() != process.pid()) p.add("core image is of pid " + std::to_string(core.pid()));
  if (core.threads_size() != process.entry.threads_size()) {
    p.add("core image has " + std::to_string(core.threads_size()) + " threads, the tree " +
          std::to_string(process.entry.threads_size()));
  } else {
    for (int i = 0; i < core.threads_size(); ++i)
      if (core.threads(i).tid() != process.entry.threads(i))
        p.add("thread " + std::to_string(i) + " is tid " + std::to_string(core.threads(i).tid()) + " in the core image but " +
              std::to_string(process.entry.threads(i)) + " in the tree");
  }
  if (core.threads_size() > kMaxThreads)
    p.add("has " + std::to_string(core.threads_size()) + " threads, more than the " + std::to_string(kMaxThreads) + " cryo restores");
  for (const auto& t : core.threads()) validate_thread(t, xsave_features, p);
  validate_job_control_stop(core, p);
  for (const auto& info : core.shared_pending()) {
    int signo = 0;
    if (info.size() == kSiginfoSize) std::memcpy(&signo, info.data(), sizeof signo);
    if (info.size() != kSiginfoSize || signo < 1 || signo > 64) p.add("a process-wide pending signal record is malformed");
  }
  if (core.umask() > 0777) p.add("umask " + std::to_string(core.umask()) + " is not a permission mask");
  if (core.comm().size() > 15) p.add("comm '" + core.comm() + "' is longer than 15 bytes");
  if (core.exit_signal() > 64) p.add("exit signal " + std::to_string(core.exit_signal()) + " is not a signal");
  if (core.pdeath_signal() < 0 || core.pdeath_signal() > 64)
    p.add("parent-death signal " + std::to_string(core.pdeath_signal()) + " is not a signal");
  for (const auto& t : core.threads()) {
    std::string thread = "thread " + std::to_string(t.tid()) + ": ";
    if (t.has_pdeath_signal() && (t.pdeath_signal() < 0 || t.pdeath_signal() > 64))
      p.add(thread + "parent-death signal " + std::to_string(t.pdeath_signal()) + " is not a signal");
    if (t.has_tsc_mode() && t.tsc_mode() != PR_TSC_ENABLE && t.tsc_mode() != PR_TSC_SIGSEGV)
      p.add(thread + "TSC mode " + std::to_string(t.tsc_mode()) + " is neither PR_TSC_ENABLE nor PR_TSC_SIGSEGV");
    if (t.has_mce_kill() && t.mce_kill() != PR_MCE_KILL_LATE && t.mce_kill() != PR_MCE_KILL_EARLY && t.mce_kill() != PR_MCE_KILL_DEFAULT)
      p.add(thread + "machine-check kill policy " + std::to_string(t.mce_kill()) + " is not one prctl knows");
  }

  const auto& creds = core.creds();
  if (creds.uids_size() != 4 || creds.gids_size() != 4) p.add("creds need 4 uids and 4 gids (real, effective, saved, fs)");
  if (creds.groups_size() > kMaxGroups) p.add(std::to_string(creds.groups_size()) + " supplementary groups is too many");
  for (uint64_t set : {creds.cap_inheritable(), creds.cap_permitted(), creds.cap_effective(), creds.cap_bounding(),
                       creds.cap_ambient()})
    if (set & ~kAllCaps) p.add("a capability set " + hex(set) + " has bits beyond the last capability");

  std::set<uint32_t> seen;
  for (const auto& r : core.rlimits()) {
    if (r.resource() >= kRlimitCount || !seen.insert(r.resource()).second)
      p.add("rlimit resource " + std::to_string(r.resource()) + " is unknown or repeated");
    else if (r.cur() > r.max())
      p.add("rlimit " + std::to_string(r.resource()) + ": soft limit above the hard limit");
  }
  seen.clear();
  for (const auto& a : core.sigactions()) {
    if (a.signo() < 1 || a.signo() > 64 || a.signo() == SIGKILL || a.signo() == SIGSTOP || !seen.insert(a.signo()).second)
      p.add("signal action for signal " + std::to_string(a.signo()) + " is invalid or repeated");
    if (a.handler() > 1 && !is_user_address(a.handler()))
      p.add("handler of signal " + std::to_string(a.signo()) + " at " + hex(a.handler()) + " is outside user space");
    if (!is_user_address(a.restorer())) p.add("restorer of signal " + std::to_string(a.signo()) + " is outside user space");
  }
  seen.clear();
  for (const auto& t : core.itimers())
    if (t.which() > 2 || !seen.insert(t.which()).second) p.add("interval timer " + std::to_string(t.which()) + " is invalid or repeated");
  validate_posix_timers(core, p);
  validate_mm_fields(core.mm(), p);
  // MMF_DUMP_FILTER_BITS is 9; the kernel's own range of oom_score_adj.
  if (core.has_coredump_filter() && core.coredump_filter() >= (1u << 9))
    p.add("coredump_filter " + hex(core.coredump_filter()) + " has unknown bits");
  if (core.has_oom_score_adj() && (core.oom_score_adj() < -1000 || core.oom_score_adj() > 1000))
    p.add("oom_score_adj " + std::to_string(core.oom_score_adj()) + " is outside -1000..1000");
}

void validate_files(const ProcessImage& process, const image::Pipes& pipes, std::vector<std::string>* problems) {
  Problems p("pid " + std::to_string(process.pid()), problems);
  std::map<uint64_t, const image::PipeEntry*> pipe_ids;
  for (const auto& pipe : pipes.pipes()) pipe_ids.emplace(pipe.pipe_id(), &pipe);
  std::set<int> numbers;
  if (process.files.fds_size() > kMaxFdNumber) p.add("has too many file descriptors");
  for (const auto& fd : process.files.fds()) numbers.insert(fd.fd());
  std::set<int> seen;
  for (const auto& fd : process.files.fds()) {
    std::string name = "fd " + std::to_string(fd.fd());
    if (fd.fd() < 0 || fd.fd() >= kMaxFdNumber) p.add(name + " is out of range");
    if (!seen.insert(fd.fd()).second) p.add(name + " appears twice");
    if ((fd.flags() & O_ACCMODE) == O_ACCMODE) p.add(name + ": access mode in flags " + hex(fd.flags()) + " is invalid");
    std::vector<std::string> lock_problems;
    validate_fd_status(fd, name, &lock_problems);
    validate_file_locks(fd, name, &lock_problems);
    for (const auto& problem : lock_problems) p.add(problem);
    const state::FdKindOps* ops = state::find_fd_kind(fd.kind());
    if (!ops) {
      p.add(name + ": unknown kind " + std::to_string(static_cast<int>(fd.kind())));
      continue;
    }
    if (ops->validate) {
      std::vector<std::string> state_problems;
      ops->validate(fd, numbers, name, &state_problems);
      for (const auto& problem : state_problems) p.add(problem);
      continue;
    }
    // The kinds whose validation is not under state/files/ yet.
    switch (fd.kind()) {
      case image::FD_REGULAR:
      case image::FD_DIRECTORY:
      case image::FD_CHARDEV:
        if (!is_clean_absolute_path(fd.path())) p.add(name + ": path '" + fd.path() + "' is not a clean absolute path");
        break;
      case image::FD_MEMFD:
      case image::FD_DELETED_FILE:
        break;  // The path is only for messages; validate_objects checks the object.
      case image::FD_PROC_FILE:
        break;  // validate_proc_files checks its path against the tree's PIDs.
      case image::FD_NAMESPACE:
        break;  // validate_namespace_files checks its type against namespaces.img.
      case image::FD_POSIX_MQUEUE:
        break;  // validate_posix_mqueues checks it against its queue.
      case image::FD_PIPE: {
        auto pipe = pipe_ids.find(fd.pipe_id());
        if (pipe == pipe_ids.end()) {
          p.add(name + ": pipe " + std::to_string(fd.pipe_id()) + " is not in pipes.img");
        } else if (fd.path() != pipe->second->fifo_path()) {
          // A named FIFO's fds carry its path; an anonymous pipe's carry none. Restore reopens by the entry's path.
          p.add(name + ": path '" + fd.path() + "' is not the path '" + pipe->second->fifo_path() + "' of pipe " + std::to_string(fd.pipe_id()));
        }
        break;
      }
      default: {
        std::vector<std::string> state_problems;
        validate_fd_state(fd, &state_problems);
        for (const auto& problem : state_problems) p.add(problem);
        break;
      }
    }
  }
  if (!is_clean_absolute_path(process.files.cwd()))
    p.add("working directory '" + process.files.cwd() + "' is not a clean absolute path");
  if (!is_clean_absolute_path(process.files.root()))
    p.add("root directory '" + process.files.root() + "' is not a clean absolute path");
}

TreePlan validate_image(const ImageSet& set, std::vector<std::string>* problems) {
  const auto& inv = set.inventory;
  if (inv.arch() != "x86_64") problems->push_back("the image is of architecture '" + inv.arch() + "'; cryo restores x86_64 only");
  if (inv.has_source_tree()) {
    const auto& source = inv.source_tree();
    // A boot id is a UUID; anything else cannot be compared with this host's and is not cryo's.
    bool uuid = source.boot_id().size() == 36;
    for (char c : source.boot_id()) uuid = uuid && (std::isxdigit(static_cast<unsigned char>(c)) || c == '-');
    if (!uuid) problems->push_back("the source tree's boot id '" + source.boot_id().substr(0, 64) + "' is not a UUID");
    if (source.pidns_inode() == 0) problems->push_back("the source tree's PID namespace inode is 0");
    if (source.init_start_time() == 0) problems->push_back("the source tree's init start time is 0");
  }
  if (inv.process_count() != set.processes.size())
    problems->push_back("the inventory counts " + std::to_string(inv.process_count()) + " processes, the tree has " +
                        std::to_string(set.processes.size()));
  const auto& ns = set.namespaces;
  if (!ns.own_pid()) problems->push_back("the tree did not have its own PID namespace");
  const std::pair<bool, const char*> unsupported[] = {
      {ns.own_user(), "user"}, {ns.own_net(), "network"}, {ns.own_cgroup(), "cgroup"}};
  for (const auto& [own, name] : unsupported)
    if (own) problems->push_back(std::string("the tree had its own ") + name + " namespace, which cryo cannot restore yet");
  if (ns.own_uts() && ns.hostname().size() > 64) problems->push_back("hostname '" + ns.hostname() + "' is longer than 64 bytes");

  std::vector<image::ProcessEntry> entries;
  entries.reserve(set.processes.size());
  for (const auto& process : set.processes) entries.push_back(process.entry);
  TreePlan plan = plan_tree(entries, problems);

  std::set<uint64_t> pipe_ids;
  std::set<std::string> fifo_paths;
  for (const auto& pipe : set.pipes.pipes()) {
    if (!pipe.fifo_path().empty() && !fifo_paths.insert(pipe.fifo_path()).second)
      problems->push_back("FIFO " + pipe.fifo_path() + " appears twice in pipes.img");
    if (!pipe_ids.insert(pipe.pipe_id()).second) problems->push_back("pipe " + std::to_string(pipe.pipe_id()) + " appears twice");
    if (pipe.capacity() > (1u << 30) || (pipe.capacity() != 0 && pipe.data().size() > pipe.capacity()))
      problems->push_back("pipe " + std::to_string(pipe.pipe_id()) + ": " + std::to_string(pipe.data().size()) +
                          " buffered bytes do not fit its capacity of " + std::to_string(pipe.capacity()));
    // A named FIFO is reopened at its path: it must be one a dump could have recorded, and its
    // pipe_id is the FIFO's inode.
    if (pipe.fifo_path().empty()) {
      if (pipe.fifo_dev() != 0 || pipe.fifo_ino() != 0 || pipe.fifo_mode() != 0 || pipe.fifo_uid() != 0 || pipe.fifo_gid() != 0)
        problems->push_back("pipe " + std::to_string(pipe.pipe_id()) + ": a FIFO identity without a FIFO path");
    } else {
      if (!is_clean_absolute_path(pipe.fifo_path()) || pipe.fifo_path() == "/")
        problems->push_back("pipe " + std::to_string(pipe.pipe_id()) + ": FIFO path '" + pipe.fifo_path() + "' is not a clean absolute path");
      // Restore may mkfifo with this mode: a FIFO's type bits and permission bits, nothing else.
      if (pipe.fifo_mode() != 0 && ((pipe.fifo_mode() & S_IFMT) != S_IFIFO || (pipe.fifo_mode() & ~(S_IFMT | 07777)) != 0))
        problems->push_back("FIFO " + pipe.fifo_path() + ": mode " + std::to_string(pipe.fifo_mode()) + " is not a FIFO's");
      if (pipe.fifo_mode() == 0 && (pipe.fifo_uid() != 0 || pipe.fifo_gid() != 0))
        problems->push_back("FIFO " + pipe.fifo_path() + ": an owner without a mode");
      // (uid_t)-1 is no owner: chown reads it as "leave unchanged".
      if (pipe.fifo_uid() == UINT32_MAX || pipe.fifo_gid() == UINT32_MAX)
        problems->push_back("FIFO " + pipe.fifo_path() + ": owner " + std::to_string(pipe.fifo_uid()) + ":" + std::to_string(pipe.fifo_gid()) + " is not one");
      if (pipe.fifo_ino() != pipe.pipe_id())
        problems->push_back("FIFO " + pipe.fifo_path() + ": inode " + std::to_string(pipe.fifo_ino()) + " is not its pipe id " +
                            std::to_string(pipe.pipe_id()));
    }
  }

  // Fds that share an open file must agree on what it is: it is opened once for all of them.
  std::map<uint64_t, std::pair<uint32_t, const image::Fd*>> open_files;
  for (const auto& process : set.processes) {
    for (const auto& fd : process.files.fds()) {
      if (fd.open_file_id() == 0) continue;
      auto [it, fresh] = open_files.emplace(fd.open_file_id(), std::make_pair(process.pid(), &fd));
      if (fresh) continue;
      const image::Fd& first = *it->second.second;
      bool same = first.kind() == fd.kind() && first.path() == fd.path() && (first.flags() & ~O_CLOEXEC) == (fd.flags() & ~O_CLOEXEC) &&
                  first.pos() == fd.pos() && first.pipe_id() == fd.pipe_id() && first.pipe_write_end() == fd.pipe_write_end() &&
                  first.object_id() == fd.object_id() && first.signal() == fd.signal() && first.has_owner() == fd.has_owner() &&
                  first.owner().type() == fd.owner().type() && first.owner().pid() == fd.owner().pid() && same_kind_state(first, fd);
      if (!same)
        problems->push_back("pid " + std::to_string(process.pid()) + ": fd " + std::to_string(fd.fd()) + " shares open file " +
                            std::to_string(fd.open_file_id()) + " with fd " + std::to_string(first.fd()) + " of pid " +
                            std::to_string(it->second.first) + " but differs from it");
    }
  }

  validate_objects(set, problems);
  validate_sysv(set, problems);
  validate_posix_mqueues(set, problems);
  validate_socket_pairs(set, problems);
  validate_netlink_sockets(set, problems);
  validate_fd_owners(set, problems);
  validate_proc_files(set, problems);
  validate_namespace_files(set, problems);
  validate_host_files(set, problems);
  validate_fingerprint_presence(set, problems);
  // Shared anonymous memory that is no memory object (images written before memory objects) is
  // only recreated within one process.
  std::map<uint64_t, uint32_t> shmem_owner;
  for (const auto& process : set.processes) {
    if (process.zombie()) continue;
    validate_core(process, inv.xsave_features(), problems);
    validate_cgroups(process.core, problems);
    validate_memory(process, problems);
    validate_files(process, set.pipes, problems);
    validate_fingerprint(process, problems);
    for (const auto& vma : process.mm.vmas()) {
      if (vma.kind() != image::VMA_ANON_SHARED || vma.object_id() != 0) continue;
      auto [it, fresh] = shmem_owner.emplace(vma.shmid(), process.pid());
      if (!fresh && it->second != process.pid())
        problems->push_back("pid " + std::to_string(process.pid()) + " shares anonymous memory " + std::to_string(vma.shmid()) +
                            " with pid " + std::to_string(it->second) + "; restoring memory shared between processes is not supported yet");
    }
  }
  return plan;
}

}  // namespace cryo::restore
