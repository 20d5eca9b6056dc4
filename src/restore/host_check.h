// Compares an image with this host before anything is created: the files it maps and holds open are
// the same files, and the kernel and CPU offer what its processes were running with.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "restore/address_plan.h"
#include "restore/image_set.h"

namespace cryo::restore {

struct HostFacts {
  std::string kernel_release;
  std::string arch;
  std::set<std::string> cpu_flags;
  uint64_t xcr0 = 0;                      // XSAVE features enabled by the kernel (xgetbv(0)).
  std::vector<NamedRange> vdso_layout;    // This kernel's [vvar], [vvar_vclock], [vdso] in cryo itself.
  uint64_t pid_max = 0;  // Of a fresh PID namespace (per namespace since Linux 6.14); 0: unknown.
  bool posix_timer_ids = true;  // timer_create can take a chosen ID (PR_TIMER_CREATE_RESTORE_IDS).
};

// What this host offers; probes what only `set` needs (POSIX timer IDs) only when it needs it.
Result<HostFacts> read_host_facts(const ImageSet& set);

// What stat() says about a path, as far as identity checks care.
struct PathStat {
  int err = 0;  // errno of stat, 0 when it succeeded.
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint32_t mode = 0;
  uint64_t rdev = 0;
};
using StatFunction = std::function<PathStat(const std::string& path)>;
PathStat stat_path(const std::string& path);

struct HostCheck {
  std::vector<std::string> problems;  // Each one stops the restore.
  std::vector<std::string> notes;     // Differences that do not (logged).
};

// Checks every file, the kernel, the CPU and the vdso layout; `stat` is stat_path outside tests.
HostCheck check_host(const ImageSet& set, const HostFacts& host, const StatFunction& stat);

}  // namespace cryo::restore
