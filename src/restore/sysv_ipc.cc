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

#include "restore/sysv_helper.h"

namespace cryo::restore {

namespace sysv_helper {

void report_and_exit(int out, Step step, int index, int value, Object object) {
  Report r{step, index, value, object};
  (void)!::write(out, &r, sizeof r);
  ::_exit(1);
}

// Without stdio (only async-signal-safe calls after fork).
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

bool write_next_id(const char* file, int id) {
  char path[64] = "/proc/sys/kernel/";
  std::strncat(path, file, sizeof path - std::strlen(path) - 1);
  int next = ::open(path, O_WRONLY | O_CLOEXEC);
  if (next < 0) return false;
  char text[16];
  size_t n = decimal(id, text);
  bool written = ::write(next, text, n) == static_cast<ssize_t>(n);
  int saved = errno;
  ::close(next);
  errno = saved;
  return written;
}

bool become_creator(uid_t cuid, gid_t cgid) {
  return ::syscall(SYS_setresgid, -1, cgid, -1) == 0 && ::syscall(SYS_setresuid, -1, cuid, -1) == 0;
}

bool become_root() { return ::syscall(SYS_setresuid, -1, 0, -1) == 0 && ::syscall(SYS_setresgid, -1, 0, -1) == 0; }

}  // namespace sysv_helper

namespace {

using namespace sysv_helper;

// Reads a paged segment's stored runs from the object pages file straight into its attachment at
// `at`, never past its size: no buffer, however large the segment; pages not listed stay holes.
bool fill_from_pages(const image::SysvShmSegment& s, char* at, int pages) {
  for (const auto& run : s.runs()) {
    uint64_t offset = run.offset(), file_offset = run.file_offset();
    uint64_t end = std::min<uint64_t>(offset + run.nr_pages() * 4096, s.size());
    while (offset < end) {
      ssize_t n = ::pread(pages, at + offset, end - offset, static_cast<off_t>(file_offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (n == 0) errno = EIO;  // The file is shorter than validation saw.
        return false;
      }
      offset += static_cast<uint64_t>(n);
      file_offset += static_cast<uint64_t>(n);
    }
  }
  return true;
}

// Creates one segment with its id: shm_next_id applies to the writer's IPC namespace, once.
void create_one(const image::SysvShmSegment& s, int index, int pages, int out) {
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
  if (s.paged()) {
    if (!fill_from_pages(s, static_cast<char*>(at), pages)) report_and_exit(out, kFill, index, errno);
  } else {
    std::memcpy(at, s.contents().data(), s.size());  // An image from before segments were paged.
  }
  if (s.locked() && ::shmctl(id, SHM_LOCK, nullptr) != 0) report_and_exit(out, kLock, index, errno);
  // A removed segment stays attached here until the processes have it; removed now, its key is free.
  if (s.removed()) {
    if (::shmctl(id, IPC_RMID, nullptr) != 0) report_and_exit(out, kRemove, index, errno);
  } else {
    ::shmdt(at);
  }
}

// Writes sysctl `index` of `sysctls` to its file (paths[index]), or reports and exits.
void write_sysctl(const google::protobuf::RepeatedPtrField<image::IpcSysctl>& sysctls, const std::vector<std::string>& paths,
                  int index, Step step, int out) {
  int file = ::open(paths[static_cast<size_t>(index)].c_str(), O_WRONLY | O_CLOEXEC);
  if (file < 0) report_and_exit(out, step, index, errno, kSysctlObject);
  const std::string& value = sysctls.Get(index).value();
  if (::write(file, value.data(), value.size()) != static_cast<ssize_t>(value.size()))
    report_and_exit(out, step, index, errno, kSysctlObject);
  ::close(file);
}

// `paths` and `limit_paths` are the files of the sysctls and of the limits, made before the fork.
[[noreturn]] void run_helper(int ns, const image::SysvIpc& ipc, const std::vector<std::string>& paths,
                             const image::SysvIpc& limits, const std::vector<std::string>& limit_paths, const Scratch& scratch,
                             int out, int hold) {
  // It outlives the placeholders' setup: it must hold none of cryo's other fds (a pipe whose end
  // of file someone waits for).
  // The object pages file stays too, to fill segments from (or -1, sorted first and skipped).
  int keep[4] = {ns, out, hold, scratch.object_pages};
  std::sort(keep, keep + 4);
  unsigned from = 3;
  for (int fd : keep) {
    if (fd < 0) continue;
    if (static_cast<unsigned>(fd) > from) ::syscall(SYS_close_range, from, static_cast<unsigned>(fd) - 1, 0);
    from = std::max(from, static_cast<unsigned>(fd) + 1);
  }
  ::syscall(SYS_close_range, from, ~0u, 0);
  if (::setns(ns, CLONE_NEWIPC) != 0) report_and_exit(out, kSetns, -1, errno);
  // The limits allow the objects before they are created (a set's nsems within semmsl, a message
  // within msgmax, a queue's msg_qbytes within msgmnb for IPC_SET without CAP_SYS_RESOURCE).
  for (int i = 0; i < limits.sysctls_size(); ++i) write_sysctl(limits.sysctls(), limit_paths, i, kLimit, out);
  create_sem_sets(ipc, scratch, out);
  create_msg_queues(ipc, scratch, out);
  // Removed segments first: a live one may have the key a removed one was created with.
  for (int pass = 0; pass < 2; ++pass)
    for (int i = 0; i < ipc.segments_size(); ++i)
      if (ipc.segments(i).removed() == (pass == 0)) create_one(ipc.segments(i), i, scratch.object_pages, out);
  // The namespace's sysctls apply to the reader's and writer's IPC namespace: the image's values,
  // once the objects exist (a limit lowered below what an object holds would have refused it).
  for (int i = 0; i < ipc.sysctls_size(); ++i) write_sysctl(ipc.sysctls(), paths, i, kSysctl, out);
  Report done{kDone, 0, 0};
  (void)!::write(out, &done, sizeof done);
  char c;
  for (;;) {
    ssize_t n = ::read(hold, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    ::_exit(n == 0 ? 0 : 1);
  }
}

std::string step_name(int step, int object) {
  const char* kind = object == kSemSet ? "sem" : object == kMsgQueue ? "msg" : "shm";
  switch (step) {
    case kSetns: return "setns(CLONE_NEWIPC)";
    case kNextId: return std::string("write /proc/sys/kernel/") + kind + "_next_id";
    case kCreds: return "setresuid/setresgid to the creator";
    case kGet: return std::string(kind) + "get";
    case kStat: return std::string(kind) + "ctl(IPC_STAT)";
    case kSet: return std::string(kind) + "ctl(IPC_SET)";
    case kAttach: return "shmat";
    case kRemove: return "shmctl(IPC_RMID)";
    case kLock: return "shmctl(SHM_LOCK)";
    case kSysctl: return "write the IPC namespace's sysctl";
    case kLimit: return "raise the IPC namespace's limit";
    case kSetAll: return "semctl(SETALL)";
    case kSend: return "msgsnd";
    case kQbytes: return "msgctl(IPC_SET msg_qbytes)";
    case kFill: return "read the segment's pages from the object pages file";
    default: return "step " + std::to_string(step);
  }
}

}  // namespace

Result<SysvSegments> SysvSegments::create(const image::SysvIpc& ipc, pid_t init, int object_pages) {
  SysvSegments segments;
  if (ipc.segments_size() == 0 && ipc.sysctls_size() == 0 && ipc.sem_sets_size() == 0 && ipc.msg_queues_size() == 0)
    return segments;
  std::vector<std::string> paths, limit_paths;
  for (const auto& sysctl : ipc.sysctls()) paths.push_back("/proc/sys/kernel/" + sysctl.name());
  image::SysvIpc limits;
  for (auto& limit : raised_ipc_limits(ipc)) {
    limit_paths.push_back("/proc/sys/kernel/" + limit.name());
    *limits.add_sysctls() = std::move(limit);
  }
  size_t longest = 0, widest = 1;
  for (const auto& q : ipc.msg_queues())
    for (const auto& m : q.messages()) longest = std::max(longest, m.text().size());
  for (const auto& set : ipc.sem_sets()) widest = std::max(widest, static_cast<size_t>(set.values_size()));
  std::vector<char> message(sizeof(long) + longest);
  std::vector<unsigned short> values(widest);
  Scratch scratch{message.data(), values.data(), object_pages};
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
    run_helper(ns.get(), ipc, paths, limits, limit_paths, scratch, to_parent.get(), hold_read.get());
  }
  segments.helper_ = child;
  to_parent.reset();
  hold_read.reset();
  Report r;
  ssize_t n;
  do n = ::read(from_helper.get(), &r, sizeof r);
  while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof r) && r.step == kDone) return segments;
  std::string what = "SysV objects";
  if (r.step == kSysctl && r.index >= 0 && r.index < ipc.sysctls_size())
    what = "the IPC namespace's kernel." + ipc.sysctls(r.index).name();
  else if (r.step == kLimit && r.index >= 0 && r.index < limits.sysctls_size())
    what = "the IPC namespace's kernel." + limits.sysctls(r.index).name() + " = " + limits.sysctls(r.index).value();
  else if (r.object == kSemSet && r.index >= 0 && r.index < ipc.sem_sets_size())
    what = "SysV semaphore set " + std::to_string(ipc.sem_sets(r.index).id());
  else if (r.object == kMsgQueue && r.index >= 0 && r.index < ipc.msg_queues_size())
    what = "SysV message queue " + std::to_string(ipc.msg_queues(r.index).id());
  else if (r.object == kSegment && r.index >= 0 && r.index < ipc.segments_size())
    what = "SysV segment " + std::to_string(ipc.segments(r.index).id());
  if (n != static_cast<ssize_t>(sizeof r)) return fail("create " + what + ": the helper in the tree's IPC namespace died");
  if (r.step == kWrongId) return fail("create " + what + ": it got id " + std::to_string(r.value));
  return fail(errno_error(step_name(r.step, r.object), r.value).context("create " + what));
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
