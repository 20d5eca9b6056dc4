// Compares an image with this host before anything is created: the files it maps and holds open are
// the same files, and the kernel and CPU offer what its processes were running with.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "kernel/host_facts.h"
#include "kernel/vdso_text.h"
#include "restore/address_plan.h"
#include "restore/host_files.h"
#include "image/image_set.h"

namespace cryo::restore {

// The host facts every stage reads (kernel/host_facts.h), and what only a restore compares.
struct RestoreHostFacts : HostFacts {
  std::optional<VdsoText> vdso;           // This kernel's vdso, as cryo itself has it.
  bool vdso_redirect_forced = false;      // kVdsoRedirectVariable: redirect even an identical vdso.
  uint64_t pid_max = 0;  // Of a fresh PID namespace (per namespace since Linux 6.14); 0: unknown.
  bool posix_timer_ids = true;  // timer_create can take a chosen ID (PR_TIMER_CREATE_RESTORE_IDS).
  uint64_t memory_bytes = 0;    // MemTotal + SwapTotal, for memory objects; 0: unknown.
};

// What this host offers; probes what only `set` needs (POSIX timer IDs) only when it needs it.
Result<RestoreHostFacts> read_restore_host_facts(const ImageSet& set);

// Checks every file, the kernel, the CPU and the vdso; `stat` and `content` are stat_path and
// read_path_content outside tests.
HostCheck check_host(const ImageSet& set, const RestoreHostFacts& host, const StatFunction& stat,
                     const ContentFunction& content = read_path_content);

}  // namespace cryo::restore
