#include "probe/features.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>

#include "base/run_in_child.h"
#include "base/scope_guard.h"
#include "base/unique_fd.h"
#include "kernel/capabilities.h"
#include "kernel/host_facts.h"
#include "kernel/kernel_abi.h"
#include "kernel/pagemap_scan.h"
#include "kernel/process_memory.h"
#include "ns/clone3.h"
#include "ns/time_namespace.h"
#include "ptrace/tracee.h"

namespace cryo {
namespace {

FeatureCheck check(std::string key, std::string title, bool required = true) {
  FeatureCheck c;
  c.key = std::move(key);
  c.title = std::move(title);
  c.required = required;
  return c;
}

void passed(FeatureCheck& c, std::string detail) {
  c.ok = true;
  c.detail = std::move(detail);
  c.remedy.clear();
}

void failed(FeatureCheck& c, std::string detail, std::string remedy) {
  c.ok = false;
  c.detail = std::move(detail);
  c.remedy = std::move(remedy);
}

std::string call_failed(const std::string& call, int err) { return call + ": " + std::strerror(err); }

// What a probe child reports: the step that failed (0: none) and its errno.
struct ChildReport {
  int step = 0;
  int err = 0;
};

// Runs `body` in a forked child, so that what it changes (namespaces, offsets) dies with it.
Result<ChildReport> in_child(const std::function<ChildReport()>& body) {
  ASSIGN_OR_RETURN(std::string bytes, run_in_child({.what = "probe child", .max_report = sizeof(ChildReport)}, [&](int out) {
    ChildReport report = body();
    report_to_parent(out, &report, sizeof report);
    return 0;
  }));
  if (bytes.size() != sizeof(ChildReport)) return fail("probe child ended without a report");
  ChildReport report;
  std::memcpy(&report, bytes.data(), sizeof report);
  return report;
}

void probe_time_namespaces(FeatureCheck& c) {
  constexpr int64_t kOffsetSeconds = 86400;
  auto report = in_child([] {
    if (::unshare(CLONE_NEWTIME) != 0) return ChildReport{1, errno};
    std::string offsets = format_timens_offsets({kOffsetSeconds * 1'000'000'000, 0});
    int fd = ::open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return ChildReport{2, errno};
    if (::write(fd, offsets.data(), offsets.size()) != static_cast<ssize_t>(offsets.size())) return ChildReport{2, errno};
    ::close(fd);
    // The offset applies to the children that enter the namespace: check one sees it.
    int64_t outside = clock_now_ns(CLOCK_MONOTONIC);
    pid_t inside = ::fork();
    if (inside < 0) return ChildReport{3, errno};
    if (inside == 0) ::_exit(clock_now_ns(CLOCK_MONOTONIC) - outside >= (kOffsetSeconds - 60) * 1'000'000'000 ? 0 : 1);
    int status = 0;
    ::waitpid(inside, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? ChildReport{} : ChildReport{4, 0};
  });
  const char* remedy = "use Linux 5.6 or later built with CONFIG_TIME_NS, and run cryo as root (CAP_SYS_ADMIN)";
  if (!report) return failed(c, report.error().message, remedy);
  switch (report->step) {
    case 0: return passed(c, "unshare(CLONE_NEWTIME) works and a child sees the monotonic offset");
    case 1: return failed(c, call_failed("unshare(CLONE_NEWTIME)", report->err), remedy);
    case 2: return failed(c, call_failed("write /proc/self/timens_offsets", report->err), remedy);
    case 3: return failed(c, call_failed("fork into the time namespace", report->err), remedy);
    default: return failed(c, "a child in the new time namespace did not see the offset", remedy);
  }
}

void probe_clone3_set_tid(FeatureCheck& c) {
  auto report = in_child([] {
    const pid_t init_pid[] = {1};
    pid_t init = clone3_fork(CLONE_NEWPID, init_pid);
    if (init < 0) return ChildReport{1, errno};
    if (init == 0) {
      // Restore creates the root with set_tid {1}, then every other process from inside with its own PID.
      if (::getpid() != 1) ::_exit(1);
      const pid_t inner_pid[] = {42};
      pid_t inner = clone3_fork(0, inner_pid);
      if (inner < 0) ::_exit(100 + errno);
      if (inner == 0) ::_exit(::getpid() == 42 ? 0 : 1);
      int status = 0;
      ::waitpid(inner, &status, 0);
      ::_exit(WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 2);
    }
    int status = 0;
    ::waitpid(init, &status, 0);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 255;
    if (code >= 100 && code < 255) return ChildReport{4, code - 100};
    return ChildReport{code == 0 ? 0 : code == 1 ? 2 : 3, 0};
  });
  const char* remedy = "use Linux 5.5 or later, and run cryo as root (CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE)";
  if (!report) return failed(c, report.error().message, remedy);
  switch (report->step) {
    case 0: return passed(c, "set_tid {1} with CLONE_NEWPID gives PID 1, set_tid {42} inside gives PID 42");
    case 1: return failed(c, call_failed("clone3(CLONE_NEWPID, set_tid={1})", report->err), remedy);
    case 2: return failed(c, "clone3(CLONE_NEWPID, set_tid={1}) did not give PID 1", remedy);
    case 3: return failed(c, "clone3(set_tid={42}) inside the namespace did not give PID 42", remedy);
    default: return failed(c, call_failed("clone3(set_tid={42}) inside the namespace", report->err), remedy);
  }
}

void probe_ns_last_pid(FeatureCheck& c) {
  // Opening for writing is the test; writing would move the host's PID counter.
  const char* path = "/proc/sys/kernel/ns_last_pid";
  int fd = ::open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return failed(c, call_failed(std::string("open(") + path + ", O_RDWR)", errno),
                  "run cryo as root (CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE) with /proc/sys writable; "
                  "without it only --pid-method clone3 works");
  ::close(fd);
  passed(c, std::string(path) + " opens for writing");
}

// Seizes a child and uses it for the probes that act on another process: ptrace, rseq, memory, fds.
void probe_on_child(KernelFeatures& f) {
  // A value the child has at the same address; process_vm_readv must read it back.
  static volatile uint64_t marker = 0;
  marker = 0x6372796f00000000ULL | static_cast<uint64_t>(::getpid());
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    std::string why = call_failed("pipe2", errno);
    for (FeatureCheck* c : {&f.ptrace_seize, &f.rseq_configuration, &f.process_vm_readv, &f.pidfd_getfd, &f.seccomp_suspend})
      failed(*c, why, "retry; the probe could not start");
    return;
  }
  UniqueFd pipe_read(pipe_fds[0]), pipe_write(pipe_fds[1]);
  pid_t child = ::fork();
  if (child == 0) {
    for (;;) ::pause();
  }
  if (child < 0) {
    std::string why = call_failed("fork", errno);
    for (FeatureCheck* c : {&f.ptrace_seize, &f.rseq_configuration, &f.process_vm_readv, &f.pidfd_getfd, &f.seccomp_suspend})
      failed(*c, why, "retry; the probe could not start");
    return;
  }
  ScopeGuard reap_child([child] {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
  });

  {
    auto tracee = Tracee::seize(child);
    if (!tracee) {
      failed(f.ptrace_seize, tracee.error().message,
             "run cryo as root (CAP_SYS_PTRACE); /proc/sys/kernel/yama/ptrace_scope 3 forbids ptrace entirely");
      failed(f.rseq_configuration, "needs ptrace seize", f.ptrace_seize.remedy);
      failed(f.seccomp_suspend, "needs ptrace seize", f.ptrace_seize.remedy);
    } else {
      // What dump and restore set on every thread of a process under seccomp filters (state/process/seccomp.h).
      if (auto suspended = tracee->suspend_seccomp(); !suspended)
        failed(f.seccomp_suspend, suspended.error().message,
               "processes under seccomp filters cannot be dumped or restored: use a kernel with CONFIG_CHECKPOINT_RESTORE and run cryo with CAP_SYS_ADMIN");
      else
        passed(f.seccomp_suspend, "suspends a child's seccomp filters while cryo injects calls");
      passed(f.ptrace_seize, "PTRACE_SEIZE and PTRACE_INTERRUPT stop a child");
      auto rseq = tracee->get_rseq_config();
      if (!rseq) {
        failed(f.rseq_configuration, rseq.error().message, "use Linux 5.13 or later");
      } else {
        char detail[128];
        std::snprintf(detail, sizeof detail, "rseq area of %u bytes, signature 0x%08x", rseq->length, rseq->signature);
        passed(f.rseq_configuration, rseq->length ? detail : "works (the child has no rseq registered)");
      }
    }
  }

  uint64_t seen = 0;
  if (auto read = read_process_memory(child, reinterpret_cast<uint64_t>(&marker), &seen, sizeof seen, "the marker"); !read)
    failed(f.process_vm_readv, read.error().message, "run cryo as root (CAP_SYS_PTRACE)");
  else if (seen != marker)
    failed(f.process_vm_readv, "read a different value than the child holds", "report this as a bug in cryo");
  else
    passed(f.process_vm_readv, "reads a child's memory");

  // pidfd_open (434) and pidfd_getfd (438): copy the child's pipe end and check it is the same pipe.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, child, 0)));
  if (!pidfd.valid()) {
    failed(f.pidfd_getfd, call_failed("pidfd_open", errno), "use Linux 5.6 or later");
    return;
  }
  UniqueFd copy(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), pipe_read.get(), 0)));
  struct stat original{}, copied{};
  if (!copy.valid()) {
    failed(f.pidfd_getfd, call_failed("pidfd_getfd", errno), "use Linux 5.6 or later and run cryo as root (CAP_SYS_PTRACE)");
  } else if (::fstat(copy.get(), &copied) != 0 || ::fstat(pipe_read.get(), &original) != 0 ||
             copied.st_ino != original.st_ino) {
    failed(f.pidfd_getfd, "the copied descriptor is not the child's pipe", "report this as a bug in cryo");
  } else {
    passed(f.pidfd_getfd, "copies a child's descriptor");
  }
}

void probe_pagemap_scan(FeatureCheck& c) {
  namespace ps = pagemap_scan;
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t size = 4 * page;
  void* memory = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return failed(c, call_failed("mmap", errno), "retry; the probe could not start");
  ScopeGuard unmap([&] { ::munmap(memory, size); });
  // Touch the first two pages only: the scan must report exactly those as present.
  static_cast<volatile char*>(memory)[0] = 1;
  static_cast<volatile char*>(memory)[page] = 1;
  UniqueFd pagemap(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  if (!pagemap.valid()) return failed(c, call_failed("open(/proc/self/pagemap)", errno), "mount /proc");
  ps::PageRegion regions[4] = {};
  ps::ScanArg arg{};
  arg.size = sizeof arg;
  arg.start = reinterpret_cast<uint64_t>(memory);
  arg.end = arg.start + size;
  arg.vec = reinterpret_cast<uint64_t>(regions);
  arg.vec_len = 4;
  arg.category_mask = ps::kPageIsPresent;
  arg.return_mask = ps::kPageIsPresent;
  int found = ::ioctl(pagemap.get(), ps::kIoctl, &arg);
  if (found < 0)
    return failed(c, call_failed("ioctl(PAGEMAP_SCAN)", errno), "use Linux 6.7 or later (PAGEMAP_SCAN)");
  if (found != 1 || regions[0].start != arg.start || regions[0].end != arg.start + 2 * page)
    return failed(c, "reported " + std::to_string(found) + " regions instead of the 2 touched pages",
                  "report this as a bug in cryo");
  passed(c, "finds the present pages of a range");
}

// Restoring a POSIX timer needs its old ID back: since Linux 6.17 a process can ask timer_create to
// take the ID it passes in.
}  // namespace

void probe_posix_timer_ids(FeatureCheck& c) {
  constexpr int kWantedId = 4242;
  auto report = in_child([] {
    if (::prctl(kernel_abi::kPrTimerCreateRestoreIds, 1, 0, 0, 0) != 0) return ChildReport{1, errno};
    sigevent event{};
    event.sigev_notify = SIGEV_NONE;
    int id = kWantedId;
    if (::syscall(SYS_timer_create, CLOCK_MONOTONIC, &event, &id) != 0) return ChildReport{2, errno};
    return id == kWantedId ? ChildReport{} : ChildReport{3, 0};
  });
  const char* remedy = "use Linux 6.17 or later to restore processes that have POSIX timers (others restore without it)";
  if (!report) return failed(c, report.error().message, remedy);
  switch (report->step) {
    case 0: return passed(c, "timer_create takes the ID it is given (PR_TIMER_CREATE_RESTORE_IDS)");
    case 1: return failed(c, call_failed("prctl(PR_TIMER_CREATE_RESTORE_IDS)", report->err), remedy);
    case 2: return failed(c, call_failed("timer_create with a chosen ID", report->err), remedy);
    default: return failed(c, "timer_create ignored the chosen ID", remedy);
  }
}

namespace {

void probe_vdso_layout(KernelFeatures& f, const Result<HostFacts>& host) {
  if (!host) return failed(f.vdso_layout, host.error().message, "mount /proc");
  const auto& mappings = host->vdso_layout;
  f.special_mappings = mappings;
  if (!find_special_mapping(mappings, "[vdso]") || !find_special_mapping(mappings, "[vvar]"))
    return failed(f.vdso_layout, "no [vdso] or [vvar] mapping: " + describe_special_mappings(mappings),
                  "boot without vdso=0: restored processes need the vdso where it was");
  passed(f.vdso_layout, describe_special_mappings(mappings));
}

void probe_capabilities(KernelFeatures& f) {
  std::string missing_required, missing_optional;
  for (const auto& need : checkpoint_restore_capabilities()) {
    CapabilityState state;
    state.name = capability_name(need.capability);
    state.required = need.required;
    state.purpose = need.purpose;
    auto held = has_capability(need.capability);
    state.held = held && *held;
    if (!state.held) (need.required ? missing_required : missing_optional) += (" " + state.name);
    f.capability_states.push_back(std::move(state));
  }
  std::string optional_note = missing_optional.empty() ? "" : "; optional ones missing:" + missing_optional;
  if (!missing_required.empty())
    return failed(f.capabilities, "missing:" + missing_required + optional_note,
                  "run cryo as root, or grant it the missing capabilities");
  passed(f.capabilities, "every required one is held" + optional_note);
}

}  // namespace

std::vector<const FeatureCheck*> KernelFeatures::checks() const {
  return {&time_namespaces, &clone3_set_tid,   &ns_last_pid,  &ptrace_seize, &rseq_configuration,
          &process_vm_readv, &pidfd_getfd,     &pagemap_scan, &vdso_layout,  &capabilities, &posix_timer_ids,
          &seccomp_suspend};
}

bool KernelFeatures::ready() const {
  for (const FeatureCheck* c : checks())
    if (c->required && !c->ok) return false;
  return true;
}

KernelFeatures probe_kernel_features() {
  KernelFeatures f;
  // The same facts a dump records in its inventory and a restore compares with.
  Result<HostFacts> host = read_host_facts();
  if (host) {
    f.kernel_release = host->kernel_release;
    f.machine = host->arch;
  }
  f.time_namespaces = check("time_namespaces", "time namespaces");
  f.clone3_set_tid = check("clone3_set_tid", "clone3 with set_tid");
  f.ns_last_pid = check("ns_last_pid", "writable ns_last_pid");
  f.ptrace_seize = check("ptrace_seize", "ptrace seize");
  f.rseq_configuration = check("rseq_configuration", "PTRACE_GET_RSEQ_CONFIGURATION");
  f.process_vm_readv = check("process_vm_readv", "process_vm_readv");
  f.pidfd_getfd = check("pidfd_getfd", "pidfd_getfd");
  f.pagemap_scan = check("pagemap_scan", "PAGEMAP_SCAN ioctl");
  f.vdso_layout = check("vdso_layout", "vdso/vvar layout");
  f.capabilities = check("capabilities", "capabilities");
  f.posix_timer_ids = check("posix_timer_ids", "POSIX timer IDs", false);
  f.seccomp_suspend = check("seccomp_suspend", "PTRACE_O_SUSPEND_SECCOMP", false);

  probe_time_namespaces(f.time_namespaces);
  probe_clone3_set_tid(f.clone3_set_tid);
  probe_ns_last_pid(f.ns_last_pid);
  probe_on_child(f);
  probe_pagemap_scan(f.pagemap_scan);
  probe_vdso_layout(f, host);
  probe_capabilities(f);
  probe_posix_timer_ids(f.posix_timer_ids);
  return f;
}

const KernelFeatures& kernel_features() {
  static const KernelFeatures features = probe_kernel_features();
  return features;
}

}  // namespace cryo
