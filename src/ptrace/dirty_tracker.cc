#include "ptrace/dirty_tracker.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <optional>
#include <string>

#include "kernel/pagemap_scan.h"
#include "ptrace/injected_fd.h"
#include "ptrace/injection_sites.h"

namespace cryo {
namespace {

// Debian 12's headers (6.1) lack the asynchronous mode (Linux 6.7).
constexpr uint64_t kFeatureWpAsync = 1ull << 15;  // UFFD_FEATURE_WP_ASYNC

std::string range_text(uint64_t start, uint64_t end) {
  char text[64];
  std::snprintf(text, sizeof text, "%lx-%lx", static_cast<unsigned long>(start), static_cast<unsigned long>(end));
  return text;
}

}  // namespace

Result<DirtyTracker> DirtyTracker::attach(Tracee& leader) {
  pid_t pid = leader.tid();
  std::string where = "pid " + std::to_string(pid);
  std::string pagemap_path = "/proc/" + std::to_string(pid) + "/pagemap";
  UniqueFd pagemap(::open(pagemap_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!pagemap.valid()) return fail_errno("open(" + pagemap_path + ")");
  // Through the resume path where there is one: a cryo killed meanwhile cannot harm the thread.
  ASSIGN_OR_RETURN(InjectionSites sites, InjectionSites::find(pid));
  UniqueFd uffd;
  {
    ASSIGN_OR_RETURN(RemoteSyscalls remote, sites.enter(leader));
    ASSIGN_OR_RETURN(uffd, take_injected_fd(remote, pid, "userfaultfd(O_CLOEXEC|UFFD_USER_MODE_ONLY)", SYS_userfaultfd,
                                            {static_cast<uint64_t>(O_CLOEXEC | UFFD_USER_MODE_ONLY)}));
  }
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = kFeatureWpAsync;
  if (::ioctl(uffd.get(), UFFDIO_API, &api) != 0)
    return fail(errno_error("ioctl(UFFDIO_API, UFFD_FEATURE_WP_ASYNC)").context(where).with_hint(
        "write-protect tracking needs Linux 6.7 or later"));
  return DirtyTracker(pid, std::move(uffd), std::move(pagemap));
}

Result<bool> DirtyTracker::track(uint64_t start, uint64_t end) {
  uffdio_register reg{};
  reg.range.start = start;
  reg.range.len = end - start;
  reg.mode = UFFDIO_REGISTER_MODE_WP;
  if (::ioctl(uffd_.get(), UFFDIO_REGISTER, &reg) == 0) return true;
  if (errno == EINVAL || errno == EBUSY || errno == ENOMEM || errno == EPERM) return false;
  return fail(errno_error("ioctl(UFFDIO_REGISTER, " + range_text(start, end) + ")").context("pid " + std::to_string(pid_)));
}

Result<> DirtyTracker::protect(uint64_t start, uint64_t end) {
  uffdio_writeprotect wp{};
  wp.range.start = start;
  wp.range.len = end - start;
  wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
  while (::ioctl(uffd_.get(), UFFDIO_WRITEPROTECT, &wp) != 0) {
    if (errno == EAGAIN) continue;  // The mapping changed meanwhile: the kernel asks to retry.
    return fail(errno_error("ioctl(UFFDIO_WRITEPROTECT, " + range_text(start, end) + ")").context("pid " + std::to_string(pid_)));
  }
  return {};
}

Result<> DirtyTracker::scan_written(uint64_t start, uint64_t end, bool reprotect, std::vector<WrittenRange>& out) {
  using namespace pagemap_scan;
  // A guard page (MADV_GUARD_INSTALL) is a marker the scan counts as swapped, and written once it
  // replaced a protected page: it holds nothing to copy. A kernel without the category has no guards
  // the scan could tell apart, and refuses it (pagemap_scan.h).
  PageRegion regions[512];
  uint64_t at = start;
  while (at < end) {
    uint64_t guards = guard_category();
    ScanArg arg{};
    arg.size = sizeof arg;
    arg.flags = kCheckWpAsync | (reprotect ? kWriteProtectMatching : 0);
    arg.start = at;
    arg.end = end;
    arg.vec = reinterpret_cast<uint64_t>(regions);
    arg.vec_len = std::size(regions);
    arg.category_mask = kPageIsWritten;
    arg.return_mask = kPageIsWritten | kPageIsPresent | kPageIsSwapped | kPageIsPfnZero | guards;
    long n = ::ioctl(pagemap_.get(), kIoctl, &arg);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EINVAL && guards) {
        refuse_guard_category();
        continue;
      }
      return fail(errno_error("ioctl(PAGEMAP_SCAN, written, " + range_text(at, end) + ")").context("pid " + std::to_string(pid_)));
    }
    for (long i = 0; i < n; ++i) {
      const PageRegion& r = regions[i];
      bool holds = (r.categories & (kPageIsPresent | kPageIsSwapped)) && !(r.categories & (kPageIsPfnZero | kPageIsGuard));
      if (!out.empty() && out.back().range.end == r.start && out.back().holds_page == holds) {
        out.back().range.end = r.end;
      } else {
        out.push_back({{r.start, r.end}, holds});
      }
    }
    if (arg.walk_end <= at) return fail("pid " + std::to_string(pid_) + ": ioctl(PAGEMAP_SCAN) made no progress");
    at = arg.walk_end;
  }
  return {};
}

void DirtyTracker::close() {
  uffd_.reset();
  pagemap_.reset();
}

}  // namespace cryo
