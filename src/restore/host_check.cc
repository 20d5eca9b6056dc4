#include "restore/host_check.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

#include "base/fault_injection.h"
#include "base/file_util.h"
#include "base/hex.h"
#include "base/run_in_child.h"
#include "probe/features.h"
#include "ns/clone3.h"
#include "restore/host_cpu_check.h"
#include "restore/host_memory_check.h"
#include "restore/host_vdso_check.h"
#include "restore/vdso_mappings.h"
#include "state/files/fanotify.h"
#include "state/files/inotify.h"
#include "base/logging.h"

namespace cryo::restore {
namespace {

// The pid_max of a fresh PID namespace, which is what the restored tree's PIDs must stay below.
// Since Linux 6.14 pid_max belongs to each PID namespace and a new one starts at the kernel's limit
// (4194304 here, while the host's is 32768), so cryo's own value would refuse trees whose PIDs
// grew past it. The kernel.pid_max sysctl answers for the reader's namespace: a child that is the
// init of a new one reads it. Older kernels have one global value, which the child reads as well.
Result<uint64_t> fresh_namespace_pid_max() {
  ChildJob job{.what = "pid_max reader in a new PID namespace", .max_report = 32};
  job.fork = [] { return clone3_fork(CLONE_NEWPID); };
  job.fork_call = "clone3(CLONE_NEWPID)";
  ASSIGN_OR_RETURN(std::string text, run_in_child(job, [](int out) {
    char buf[32];
    int fd = ::open("/proc/sys/kernel/pid_max", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : ::read(fd, buf, sizeof buf);
    if (n <= 0) return 1;
    report_to_parent(out, buf, static_cast<size_t>(n));
    return 0;
  }));
  if (text.empty()) return fail("reading pid_max in a new PID namespace failed");
  return std::strtoull(text.c_str(), nullptr, 10);
}

}  // namespace

Result<RestoreHostFacts> read_restore_host_facts(const ImageSet& set) {
  ASSIGN_OR_RETURN(HostFacts host, read_host_facts());
  RestoreHostFacts facts;
  static_cast<HostFacts&>(facts) = std::move(host);
  const char* forced = std::getenv(kVdsoRedirectVariable);
  facts.vdso_redirect_forced = forced && std::string(forced) == "1";
  for (const auto& m : facts.vdso_layout) {
    if (m.name != "[vdso]") continue;
    auto text = read_vdso_text(0, m.start, m.end);
    if (text) facts.vdso = *text;
    else logging::get("restore")->debug("this kernel's vdso: {}", text.error().message);
  }
  // A probe forks a child: only for images that need it.
  bool has_timers = false;
  for (const auto& process : set.processes) has_timers = has_timers || process.core.posix_timers_size() > 0;
  if (has_timers) {
    FeatureCheck timer_ids;
    probe_posix_timer_ids(timer_ids);
    facts.posix_timer_ids = timer_ids.ok;
  }
  if (set.objects.objects_size() > 0 || set.sysv.segments_size() > 0) {
    auto meminfo = read_file("/proc/meminfo");
    if (meminfo) facts.memory_bytes = parse_memory_and_swap(*meminfo);
    else logging::get("restore")->debug("/proc/meminfo: {}", meminfo.error().message);
  }
  auto fresh = fresh_namespace_pid_max();
  if (fresh) {
    facts.pid_max = *fresh;
  } else {
    ASSIGN_OR_RETURN(std::string pid_max, read_file("/proc/sys/kernel/pid_max"));
    facts.pid_max = std::strtoull(pid_max.c_str(), nullptr, 10);
  }
  return facts;
}

HostCheck check_host(const ImageSet& set, const RestoreHostFacts& host, const StatFunction& stat, const ContentFunction& content) {
  HostCheck out;
  const auto& inv = set.inventory;
  check_cpu_and_kernel(inv, host, &out);
  check_vdso(set, host, &out);
  check_object_memory(set, host.memory_bytes, &out);

  bool same_boot = !inv.boot_id().empty() && inv.boot_id() == host.boot_id;
  HostFiles files(set.contents, same_boot, stat, content);
  std::set<std::string> carried;
  for (const auto& file : set.included.files()) carried.insert(file.path());
  files.carried(std::move(carried));
  // A deleted file comes back as an unlinked file in the directory it was in, on the same filesystem.
  for (const auto& object : set.objects.objects()) {
    if (object.kind() != image::OBJECT_DELETED_FILE) continue;
    std::string dir = object.name().substr(0, object.name().rfind('/'));
    files.kind(dir.empty() ? "/" : dir, "the directory of deleted file " + object.name() + ", where it is recreated unlinked", true, 0);
  }
  for (const auto& process : set.processes) {
    std::string pid = "pid " + std::to_string(process.pid());
    if (host.pid_max != 0 && process.pid() > host.pid_max)
      out.problems.push_back(pid + " is above the pid_max of a new PID namespace on this host, " + std::to_string(host.pid_max));
    if (process.zombie()) continue;
    if (process.core.posix_timers_size() > 0 && !host.posix_timer_ids)
      out.problems.push_back(pid + " has POSIX timers, and this kernel cannot give them back their IDs (Linux 6.17 can)");
    const auto& mm = process.core.mm();
    files.same_file(mm.exe(), mm.exe_identity(), "executable of " + pid);
    for (const auto& vma : process.mm.vmas()) {
      if (vma.kind() != image::VMA_FILE_PRIVATE && vma.kind() != image::VMA_FILE_SHARED) continue;
      if (vma.object_id() != 0) continue;  // A memfd or deleted file, recreated from the image.
      files.same_file(vma.path(), vma.file(), "mapped by " + pid);
    }
    for (const auto& fd : process.files.fds()) {
      std::string user = "fd " + std::to_string(fd.fd()) + " of " + pid;
      switch (fd.kind()) {
        case image::FD_REGULAR:
          // A file the tree writes to changes under a restored tree (an earlier restore of this
          // image may have appended to its log): it is taken by path, if long enough.
          if ((fd.flags() & O_ACCMODE) == O_RDONLY)
            files.same_file(fd.path(), fd.identity(), user);
          else
            files.writable_file(fd.path(), fd.identity(), fd.pos(), user);
          break;
        case image::FD_DIRECTORY: files.kind(fd.path(), user, true, 0); break;
        case image::FD_CHARDEV: files.kind(fd.path(), user, false, fd.rdev()); break;
        case image::FD_INOTIFY:
          // A watch is on an inode, not on a path: the same inode or none (its contents may change).
          for (const auto& watch : fd.inotify().watches())
            if (auto same = state::check_watched_file(watch); !same) out.problems.push_back(same.error().message + " (" + user + ")");
          break;
        case image::FD_FANOTIFY:
          for (const auto& mark : fd.fanotify().marks())
            if (auto same = state::check_marked_file(mark); !same) out.problems.push_back(same.error().message + " (" + user + ")");
          break;
        default: break;
      }
    }
    files.kind(process.files.cwd(), "working directory of " + pid, true, 0);
    files.kind(process.files.root(), "root directory of " + pid, true, 0);
  }
  files.check(&out);
  return out;
}

}  // namespace cryo::restore
