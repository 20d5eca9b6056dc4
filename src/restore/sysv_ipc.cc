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


namespace cryo::restore {
namespace {

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
