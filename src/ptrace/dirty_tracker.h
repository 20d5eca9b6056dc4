// Which pages of another process it wrote since a moment chosen by cryo, without soft-dirty
// (CONFIG_MEM_SOFT_DIRTY is often off): a userfaultfd in asynchronous write-protect mode, made by
// the process itself and then owned by cryo alone, with the PAGEMAP_SCAN ioctl reading and
// resetting its marks. The base of pre-copy (dump/pre_copy.h) and of live migration.
//
// Kernel facts (6.18, measured; docs/design.md "Dirty tracking without soft-dirty"):
// - userfaultfd() must be called by the process whose memory it tracks; the fd then works from any
//   process that holds it (pidfd_getfd), and UFFDIO_API, UFFDIO_REGISTER and UFFDIO_WRITEPROTECT
//   act on the creator's memory. UFFD_USER_MODE_ONLY lets an unprivileged process make one; the
//   asynchronous mode never calls the fault handler, so kernel-mode writes (read(2) into a
//   protected page) are tracked too.
// - With UFFD_FEATURE_WP_ASYNC a write to a protected page is not blocked: the kernel drops the
//   protection and PAGEMAP_SCAN reports the page PAGE_IS_WRITTEN until it is protected again.
//   In a registered anonymous mapping, a page that is not there (never touched, or zapped by
//   MADV_DONTNEED since) is reported written too: it holds no protection.
// - In a private file mapping the kernel protects pages that are not there with markers, which
//   PAGEMAP_SCAN and /proc/PID/pagemap show as swapped pages: such mappings are not tracked here.
// - Write-protecting 2 GiB of present pages takes ~80 ms, a scan of 2 GiB with nothing written
//   ~1 ms, closing the last fd (which unregisters and unprotects everything) ~130 ms: so the
//   tracker is closed once the process runs again.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "kernel/proc_pagemap.h"
#include "ptrace/tracee.h"

namespace cryo {

// A range of pages the scan found, and whether they hold a page now (present or swapped out, not
// the shared zero page nor a guard): a written range without one was zapped, or is the zero page
// again.
struct WrittenRange {
  PageRange range;
  bool holds_page = false;
};

class DirtyTracker {
 public:
  // Injects userfaultfd(O_CLOEXEC | UFFD_USER_MODE_ONLY) into the stopped thread `leader`, takes
  // the fd with pidfd_getfd, closes it in the process and enables UFFD_FEATURE_WP_ASYNC. The
  // thread's registers and signal mask are restored on every path; the process keeps no fd.
  static Result<DirtyTracker> attach(Tracee& leader);

  DirtyTracker(DirtyTracker&&) = default;
  DirtyTracker& operator=(DirtyTracker&&) = default;

  pid_t pid() const { return pid_; }

  // Registers [start, end) (whole private anonymous mappings) for write-protect tracking. False
  // when the kernel refuses the range (a mapping changed or gone since it was read, one registered
  // by another userfaultfd: EBUSY), which is then simply not tracked.
  Result<bool> track(uint64_t start, uint64_t end);
  // Write-protects a registered range: from now on every write to it is reported.
  Result<> protect(uint64_t start, uint64_t end);
  // Appends the pages of the registered range [start, end) written since they were last
  // protected, and with `reprotect` protects them again in the same walk (PM_SCAN_WP_MATCHING), so
  // that a write after the scan is reported by the next one. Fails (EPERM) on a range that is not
  // registered with this tracker's asynchronous mode any more.
  Result<> scan_written(uint64_t start, uint64_t end, bool reprotect, std::vector<WrittenRange>& out);

  // Closes the userfaultfd: the kernel unregisters every range and drops every protection (VmFlags
  // lose `uw`). The tracker is empty afterwards.
  void close();

 private:
  DirtyTracker(pid_t pid, UniqueFd uffd, UniqueFd pagemap) : pid_(pid), uffd_(std::move(uffd)), pagemap_(std::move(pagemap)) {}
  pid_t pid_ = 0;
  UniqueFd uffd_;
  UniqueFd pagemap_;  // /proc/PID/pagemap, for PAGEMAP_SCAN.
};

}  // namespace cryo
