#include "restore/sysv_ipc.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

#include "image/ipc_sysctls.h"
#include "image/object_limits.h"

namespace cryo::restore {
namespace {

constexpr uint64_t kPage = 4096;

uint64_t whole_pages(uint64_t size) { return (size + kPage - 1) / kPage * kPage; }

// What the helper reports: '=' when every segment is in place, or the step that failed, the
// segment's index and errno (for kWrongId: the id it got).
enum Step : int { kDone = '=', kSetns = 's', kNextId = 'n', kCreds = 'c', kGet = 'g', kWrongId = 'i', kStat = 't', kSet = 'e',
                  kAttach = 'a', kRemove = 'r', kLock = 'l', kSysctl = 'y' };

struct Report {
  int step = 0;
  int index = 0;
  int value = 0;
};

[[noreturn]] void report_and_exit(int out, Step step, int index, int value) {
  Report r{step, index, value};
  (void)!::write(out, &r, sizeof r);
  ::_exit(1);
}

// Decimal text of a non-negative int without stdio (only async-signal-safe calls after fork).
size_t decimal(int value, char* out) {
  char digits[16];
  size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  for (size_t i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  return n;
}

// Creates one segment with its id: shm_next_id applies to the writer's IPC namespace, once.
void create_one(const image::SysvShmSegment& s, int index, int out) {
  int next = ::open("/proc/sys/kernel/shm_next_id", O_WRONLY | O_CLOEXEC);
  if (next < 0) report_and_exit(out, kNextId, index, errno);
  char text[16];
  size_t n = decimal(s.id(), text);
  if (::write(next, text, n) != static_cast<ssize_t>(n)) report_and_exit(out, kNextId, index, errno);
  ::close(next);
  // The creator (cuid, cgid) is the euid and egid of the creating process; root comes back
  // through the saved ids.
  if (::syscall(SYS_setresgid, -1, s.cgid(), -1) != 0 || ::syscall(SYS_setresuid, -1, s.cuid(), -1) != 0)
    report_and_exit(out, kCreds, index, errno);
  int key = s.removed() ? s.creation_key() : s.key();
  int id = ::shmget(key, s.size(), IPC_CREAT | IPC_EXCL | static_cast<int>(s.mode()));
  int get_errno = errno;
  if (::syscall(SYS_setresuid, -1, 0, -1) != 0 || ::syscall(SYS_setresgid, -1, 0, -1) != 0) report_and_exit(out, kCreds, index, errno);
  if (id < 0) report_and_exit(out, kGet, index, get_errno);
  if (id != s.id()) report_and_exit(out, kWrongId, index, id);
  struct shmid_ds ds;
  if (::shmctl(id, IPC_STAT, &ds) != 0) report_and_exit(out, kStat, index, errno);
  ds.shm_perm.uid = s.uid();
  ds.shm_perm.gid = s.gid();
  ds.shm_perm.mode = static_cast<unsigned short>(s.mode());
  if (::shmctl(id, IPC_SET, &ds) != 0) report_and_exit(out, kSet, index, errno);
  void* at = ::shmat(id, nullptr, 0);
  if (at == reinterpret_cast<void*>(-1)) report_and_exit(out, kAttach, index, errno);
  std::memcpy(at, s.contents().data(), s.size());
  if (s.locked() && ::shmctl(id, SHM_LOCK, nullptr) != 0) report_and_exit(out, kLock, index, errno);
  // A removed segment stays attached here until the processes have it; removed now, its key is free.
  if (s.removed()) {
    if (::shmctl(id, IPC_RMID, nullptr) != 0) report_and_exit(out, kRemove, index, errno);
  } else {
    ::shmdt(at);
  }
}

// `paths` are the sysctls' files, made before the fork.
[[noreturn]] void run_helper(int ns, const image::SysvIpc& ipc, const std::vector<std::string>& paths, int out, int hold) {
  // It outlives the placeholders' setup: it must hold none of cryo's other fds (a pipe whose end
  // of file someone waits for).
  int keep[3] = {ns, out, hold};
  std::sort(keep, keep + 3);
  unsigned from = 3;
  for (int fd : keep) {
    if (static_cast<unsigned>(fd) > from) ::syscall(SYS_close_range, from, static_cast<unsigned>(fd) - 1, 0);
    from = std::max(from, static_cast<unsigned>(fd) + 1);
  }
  ::syscall(SYS_close_range, from, ~0u, 0);
  if (::setns(ns, CLONE_NEWIPC) != 0) report_and_exit(out, kSetns, -1, errno);
  // Removed segments first: a live one may have the key a removed one was created with.
  for (int pass = 0; pass < 2; ++pass)
    for (int i = 0; i < ipc.segments_size(); ++i)
      if (ipc.segments(i).removed() == (pass == 0)) create_one(ipc.segments(i), i, out);
  // The namespace's sysctls apply to the reader's and writer's IPC namespace.
  for (int i = 0; i < ipc.sysctls_size(); ++i) {
    int file = ::open(paths[static_cast<size_t>(i)].c_str(), O_WRONLY | O_CLOEXEC);
    if (file < 0) report_and_exit(out, kSysctl, i, errno);
    const std::string& value = ipc.sysctls(i).value();
    if (::write(file, value.data(), value.size()) != static_cast<ssize_t>(value.size())) report_and_exit(out, kSysctl, i, errno);
    ::close(file);
  }
  Report done{kDone, 0, 0};
  (void)!::write(out, &done, sizeof done);
  char c;
  for (;;) {
    ssize_t n = ::read(hold, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    ::_exit(n == 0 ? 0 : 1);
  }
}

std::string step_name(int step) {
  switch (step) {
    case kSetns: return "setns(CLONE_NEWIPC)";
    case kNextId: return "write /proc/sys/kernel/shm_next_id";
    case kCreds: return "setresuid/setresgid to the creator";
    case kGet: return "shmget";
    case kStat: return "shmctl(IPC_STAT)";
    case kSet: return "shmctl(IPC_SET)";
    case kAttach: return "shmat";
    case kRemove: return "shmctl(IPC_RMID)";
    case kLock: return "shmctl(SHM_LOCK)";
    case kSysctl: return "write the IPC namespace's sysctl";
    default: return "step " + std::to_string(step);
  }
}

}  // namespace

void validate_sysv(const ImageSet& set, std::vector<std::string>* problems) {
  const auto& segments = set.sysv.segments();
  auto problem = [&](const std::string& text) { problems->push_back("sysv.img: " + text); };
  if (set.sysv.sysctls_size() > 0 && !set.namespaces.own_ipc()) problem("IPC sysctls of a tree without an IPC namespace of its own");
  std::set<std::string> seen;
  for (const auto& sysctl : set.sysv.sysctls()) {
    bool known = false;
    for (std::string_view name : image::kIpcSysctls) known |= sysctl.name() == name;
    if (!known) problem("sysctl '" + sysctl.name() + "' is not one of the IPC namespace's");
    if (!seen.insert(sysctl.name()).second) problem("sysctl " + sysctl.name() + " twice");
    // Numbers, separated by blanks (kernel.sem has four), as the kernel prints them.
    bool numbers = !sysctl.value().empty() && sysctl.value().size() <= 128 &&
                   sysctl.value().find_first_not_of("0123456789-\t ") == std::string::npos;
    if (!numbers) problem("sysctl " + sysctl.name() + ": value '" + sysctl.value().substr(0, 64) + "' is not numbers");
  }
  if (segments.empty()) {
    for (const auto& process : set.processes)
      for (const auto& vma : process.mm.vmas())
        if (vma.kind() == image::VMA_SYSV_SHM)
          problems->push_back("pid " + std::to_string(process.pid()) + ": maps SysV segment " + std::to_string(vma.shmid()) +
                              ", which the image does not hold");
    return;
  }
  if (!set.namespaces.own_ipc()) problem("SysV segments of a tree without an IPC namespace of its own");
  std::map<int64_t, const image::SysvShmSegment*> by_id;
  std::set<int32_t> live_keys;
  uint64_t total = 0;
  for (const auto& s : segments) {
    std::string name = "segment " + std::to_string(s.id());
    if (s.id() < 0) problem(name + ": negative id");
    if (!by_id.emplace(s.id(), &s).second) problem(name + ": a second segment with this id");
    if (s.size() == 0) problem(name + ": size 0");
    if (s.contents().size() != s.size())
      problem(name + ": " + std::to_string(s.contents().size()) + " bytes of contents for size " + std::to_string(s.size()));
    total += s.size();
    if (s.mode() & ~0777u) problem(name + ": mode " + std::to_string(s.mode()) + " has more than permission bits");
    if (s.removed()) {
      if (s.key() != 0) problem(name + ": removed but with key " + std::to_string(s.key()));
    } else {
      if (s.creation_key() != 0) problem(name + ": a creation key for a segment that is not removed");
      if (s.key() != 0 && !live_keys.insert(s.key()).second) problem(name + ": a second segment with key " + std::to_string(s.key()));
    }
  }
  if (total > image::kMaxObjectBytes) problem("segments hold " + std::to_string(total) + " bytes, more than cryo stores");
  std::set<int64_t> mapped;
  for (const auto& process : set.processes) {
    for (const auto& vma : process.mm.vmas()) {
      if (vma.kind() != image::VMA_SYSV_SHM) continue;
      std::string name = "pid " + std::to_string(process.pid()) + ": SysV mapping at " + std::to_string(vma.start());
      auto it = by_id.find(static_cast<int64_t>(vma.shmid()));
      if (vma.shmid() > INT32_MAX || it == by_id.end()) {
        problems->push_back(name + ": segment " + std::to_string(vma.shmid()) + " is not in sysv.img");
        continue;
      }
      const image::SysvShmSegment& s = *it->second;
      mapped.insert(s.id());
      if (vma.end() - vma.start() != whole_pages(s.size()))
        problems->push_back(name + ": " + std::to_string(vma.end() - vma.start()) + " bytes for segment " + std::to_string(s.id()) +
                            " of " + std::to_string(s.size()));
      unsigned key = 0;
      int32_t expected = s.removed() ? s.creation_key() : s.key();
      if (std::sscanf(vma.path().c_str(), "/SYSV%8x", &key) != 1 || static_cast<int32_t>(key) != expected)
        problems->push_back(name + ": named '" + vma.path() + "', not after the key of segment " + std::to_string(s.id()));
    }
  }
  for (const auto& s : segments)
    if (s.removed() && !mapped.count(s.id()))
      problem("segment " + std::to_string(s.id()) + " is removed and mapped by no process (it would be gone)");
}

Result<SysvSegments> SysvSegments::create(const image::SysvIpc& ipc, pid_t init) {
  SysvSegments segments;
  if (ipc.segments_size() == 0 && ipc.sysctls_size() == 0) return segments;
  std::vector<std::string> paths;
  for (const auto& sysctl : ipc.sysctls()) paths.push_back("/proc/sys/kernel/" + sysctl.name());
  std::string ns_path = "/proc/" + std::to_string(init) + "/ns/ipc";
  UniqueFd ns(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return fail_errno("open(" + ns_path + ")");
  int report_fds[2], hold_fds[2];
  if (::pipe2(report_fds, O_CLOEXEC) != 0) return fail_errno("pipe2");
  UniqueFd from_helper(report_fds[0]), to_parent(report_fds[1]);
  if (::pipe2(hold_fds, O_CLOEXEC) != 0) return fail_errno("pipe2");
  UniqueFd hold_read(hold_fds[0]);
  segments.hold_ = UniqueFd(hold_fds[1]);
  pid_t child = ::fork();
  if (child < 0) return fail_errno("fork");
  if (child == 0) {
    segments.hold_.reset();
    run_helper(ns.get(), ipc, paths, to_parent.get(), hold_read.get());
  }
  segments.helper_ = child;
  to_parent.reset();
  hold_read.reset();
  Report r;
  ssize_t n;
  do n = ::read(from_helper.get(), &r, sizeof r);
  while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof r) && r.step == kDone) return segments;
  std::string what = "SysV segments";
  if (r.step == kSysctl && r.index >= 0 && r.index < ipc.sysctls_size())
    what = "the IPC namespace's kernel." + ipc.sysctls(r.index).name();
  else if (r.index >= 0 && r.index < ipc.segments_size())
    what = "SysV segment " + std::to_string(ipc.segments(r.index).id());
  if (n != static_cast<ssize_t>(sizeof r)) return fail("create " + what + ": the helper in the tree's IPC namespace died");
  if (r.step == kWrongId) return fail("create " + what + ": shmget gave id " + std::to_string(r.value));
  return fail(errno_error(step_name(r.step), r.value).context("create " + what));
}

SysvSegments::SysvSegments(SysvSegments&& other) noexcept
    : helper_(std::exchange(other.helper_, 0)), hold_(std::move(other.hold_)) {}

SysvSegments::~SysvSegments() {
  if (helper_ == 0) return;
  ::kill(helper_, SIGKILL);
  while (::waitpid(helper_, nullptr, 0) < 0 && errno == EINTR) {
  }
}

Result<> SysvSegments::finish() {
  if (helper_ == 0) return {};
  hold_.reset();
  int status = 0;
  pid_t helper = std::exchange(helper_, 0);
  while (::waitpid(helper, &status, 0) < 0) {
    if (errno != EINTR) return fail_errno("waitpid(SysV helper)");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return fail("the SysV helper did not exit cleanly");
  return {};
}

}  // namespace cryo::restore
