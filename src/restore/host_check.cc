#include "restore/host_check.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>

#include "base/file_util.h"
#include "base/hex.h"
#include "base/unique_fd.h"
#include "kernel/features.h"
#include "ns/clone3.h"
#include "restore/vdso_mappings.h"

namespace cryo::restore {
namespace {

// The pid_max of a fresh PID namespace, which is what the restored tree's PIDs must stay below.
// Since Linux 6.14 pid_max belongs to each PID namespace and a new one starts at the kernel's limit
// (4194304 here, while the host's is 32768), so cryo's own value would refuse trees whose PIDs
// grew past it. The kernel.pid_max sysctl answers for the reader's namespace: a child that is the
// init of a new one reads it. Older kernels have one global value, which the child reads as well.
Result<uint64_t> fresh_namespace_pid_max() {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return fail_errno("pipe2");
  UniqueFd read_end(ends[0]), write_end(ends[1]);
  pid_t child = clone3_fork(CLONE_NEWPID);
  if (child == 0) {
    char buf[32];
    int fd = ::open("/proc/sys/kernel/pid_max", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : ::read(fd, buf, sizeof buf);
    if (n > 0) (void)!::write(write_end.get(), buf, static_cast<size_t>(n));
    ::_exit(n > 0 ? 0 : 1);
  }
  if (child < 0) return fail_errno("clone3(CLONE_NEWPID)");
  write_end.reset();
  char buf[32] = {};
  ssize_t n;
  while ((n = ::read(read_end.get(), buf, sizeof buf - 1)) < 0 && errno == EINTR) {
  }
  while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
  }
  if (n <= 0) return fail("reading pid_max in a new PID namespace failed");
  return std::strtoull(buf, nullptr, 10);
}

const char* special_name(image::VmaKind kind) {
  switch (kind) {
    case image::VMA_VDSO: return "[vdso]";
    case image::VMA_VVAR: return "[vvar]";
    case image::VMA_VVAR_VCLOCK: return "[vvar_vclock]";
    default: return nullptr;
  }
}

uint64_t read_xcr0() {
  uint32_t eax = 0, ecx = 0, edx = 0;
  // CPUID.1:ECX.OSXSAVE[bit 27] says xgetbv may be used.
  uint32_t ebx = 0;
  asm volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(1), "c"(0));
  if (!(ecx & (1u << 27))) return 0;
  asm volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (uint64_t(edx) << 32) | eax;
}

// Collects at most one problem per path, naming every user of it, so a changed library shared by
// twenty processes is one line.
class FileChecks {
 public:
  FileChecks(const StatFunction& stat, HostCheck* out) : stat_(stat), out_(out) {}

  // `strict`: size and mtime must match too (files only read, and mapped files).
  void identity(const std::string& path, const image::FileIdentity& id, const std::string& user, bool strict) {
    std::string key = path + (strict ? "\n1" : "\n0");
    if (!seen_.insert(key).second) return;
    PathStat st = stat_(path);
    if (st.err != 0) {
      out_->problems.push_back(path + " (" + user + "): " + std::strerror(st.err));
      return;
    }
    if (id.ino() == 0 && id.dev() == 0) {
      out_->notes.push_back(path + " (" + user + "): the image recorded no identity; not checked");
      return;
    }
    if (st.dev != id.dev() || st.ino != id.ino()) {
      out_->problems.push_back(path + " (" + user + ") is another file than at the dump (device:inode " + std::to_string(id.dev()) +
                               ":" + std::to_string(id.ino()) + ", now " + std::to_string(st.dev) + ":" + std::to_string(st.ino) + ")");
      return;
    }
    if (st.size == id.size() && st.mtime_ns == id.mtime_ns()) return;
    std::string change = "changed since the dump (size " + std::to_string(id.size()) + " -> " + std::to_string(st.size) +
                         (st.mtime_ns != id.mtime_ns() ? ", modified again" : "") + ")";
    if (strict)
      out_->problems.push_back(path + " (" + user + ") " + change);
    else
      out_->notes.push_back(path + " (" + user + ", open for writing) " + change + "; restoring anyway");
  }

  void kind(const std::string& path, const std::string& user, bool want_dir, uint64_t rdev) {
    if (!seen_.insert(path + "\nkind").second) return;
    PathStat st = stat_(path);
    if (st.err != 0) {
      out_->problems.push_back(path + " (" + user + "): " + std::strerror(st.err));
    } else if (want_dir && !S_ISDIR(st.mode)) {
      out_->problems.push_back(path + " (" + user + ") is no longer a directory");
    } else if (!want_dir && (!S_ISCHR(st.mode) || st.rdev != rdev)) {
      out_->problems.push_back(path + " (" + user + ") is not the character device " + std::to_string(major(rdev)) + ":" +
                               std::to_string(minor(rdev)) + " it was at the dump");
    }
  }

 private:
  const StatFunction& stat_;
  HostCheck* out_;
  std::set<std::string> seen_;
};

// Returns what makes the image's vdso mappings unusable on this kernel, or "".
std::string vdso_difference(const std::map<std::string, NamedRange>& image, const std::map<std::string, NamedRange>& here) {
  for (const auto& [name, range] : here)
    if (!image.count(name)) return "has no " + name + " mapping, which this kernel gives every process";
  for (const auto& [name, range] : image)
    if (!here.count(name)) return "has a " + name + " mapping, which this kernel does not have";
  if (image.empty()) return "";
  // Same names on both sides from here on; both maps iterate in the same order.
  uint64_t image_base = image.begin()->second.start, here_base = here.begin()->second.start;
  for (const auto& [name, range] : image) {
    const NamedRange& mine = here.at(name);
    if (mine.size() != range.size())
      return name + " is " + std::to_string(range.size()) + " bytes, " + std::to_string(mine.size()) + " on this kernel";
    if (range.start - image_base != mine.start - here_base) return "the distances between its vdso mappings differ from this kernel's";
  }
  return "";
}

void check_vdso(const ImageSet& set, const HostFacts& host, HostCheck* out) {
  std::map<std::string, NamedRange> here;
  for (const auto& r : host.vdso_layout) here[r.name] = r;
  for (const auto& process : set.processes) {
    if (process.zombie()) continue;
    std::map<std::string, NamedRange> image;
    for (const auto& vma : process.mm.vmas())
      if (const char* name = special_name(vma.kind())) image[name] = {name, vma.start(), vma.end()};
    std::string problem = vdso_difference(image, here);
    if (!problem.empty()) {
      out->problems.push_back("pid " + std::to_string(process.pid()) + ": " + problem + " (a vdso from another kernel cannot work here)");
      return;  // Every process has the same layout; one line says it.
    }
  }
}

}  // namespace

PathStat stat_path(const std::string& path) {
  PathStat out;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    out.err = errno;
    return out;
  }
  out.dev = st.st_dev;
  out.ino = st.st_ino;
  out.size = static_cast<uint64_t>(st.st_size);
  out.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  out.mode = st.st_mode;
  out.rdev = st.st_rdev;
  return out;
}

Result<HostFacts> read_host_facts(const ImageSet& set) {
  HostFacts facts;
  utsname uts;
  if (::uname(&uts) != 0) return fail_errno("uname");
  facts.kernel_release = uts.release;
  facts.arch = uts.machine;
  ASSIGN_OR_RETURN(std::string cpuinfo, read_file("/proc/cpuinfo"));
  std::istringstream lines(cpuinfo);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.starts_with("flags")) continue;
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::istringstream words(line.substr(colon + 1));
    std::string flag;
    while (words >> flag) facts.cpu_flags.insert(flag);
    break;  // Every CPU lists the same flags; the first one is enough.
  }
  facts.xcr0 = read_xcr0();
  ASSIGN_OR_RETURN(auto maps, read_maps(0));
  facts.vdso_layout = vdso_mappings(maps);
  // A probe forks a child: only for images that need it.
  bool has_timers = false;
  for (const auto& process : set.processes) has_timers = has_timers || process.core.posix_timers_size() > 0;
  if (has_timers) {
    FeatureCheck timer_ids;
    probe_posix_timer_ids(timer_ids);
    facts.posix_timer_ids = timer_ids.ok;
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

HostCheck check_host(const ImageSet& set, const HostFacts& host, const StatFunction& stat) {
  HostCheck out;
  const auto& inv = set.inventory;
  if (inv.arch() != host.arch) out.problems.push_back("the image is from a " + inv.arch() + " host, this one is " + host.arch);
  if (inv.kernel_release() != host.kernel_release)
    out.notes.push_back("the image was dumped on kernel " + inv.kernel_release() + ", this is " + host.kernel_release);
  std::string missing;
  for (const auto& flag : inv.cpu_flags())
    if (!host.cpu_flags.count(flag)) missing += (missing.empty() ? "" : " ") + flag;
  if (!missing.empty()) out.problems.push_back("this CPU lacks features the image's processes may use: " + missing);
  if (inv.xsave_features() != host.xcr0)
    out.problems.push_back("the image's registers were saved with XSAVE features " + hex(inv.xsave_features()) + ", this host enables " +
                           hex(host.xcr0));
  check_vdso(set, host, &out);

  FileChecks files(stat, &out);
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
    files.identity(mm.exe(), mm.exe_identity(), "executable of " + pid, true);
    for (const auto& vma : process.mm.vmas()) {
      if (vma.kind() != image::VMA_FILE_PRIVATE && vma.kind() != image::VMA_FILE_SHARED) continue;
      if (vma.object_id() != 0) continue;  // A memfd or deleted file, recreated from the image.
      files.identity(vma.path(), vma.file(), "mapped by " + pid, true);
    }
    for (const auto& fd : process.files.fds()) {
      std::string user = "fd " + std::to_string(fd.fd()) + " of " + pid;
      switch (fd.kind()) {
        case image::FD_REGULAR:
          // A file the tree writes to changes under a restored tree; an earlier restore of this
          // image may have appended to its log. Only the file itself must be the same.
          files.identity(fd.path(), fd.identity(), user, (fd.flags() & O_ACCMODE) == O_RDONLY);
          break;
        case image::FD_DIRECTORY: files.kind(fd.path(), user, true, 0); break;
        case image::FD_CHARDEV: files.kind(fd.path(), user, false, fd.rdev()); break;
        default: break;
      }
    }
    files.kind(process.files.cwd(), "working directory of " + pid, true, 0);
    files.kind(process.files.root(), "root directory of " + pid, true, 0);
  }
  return out;
}

}  // namespace cryo::restore
