// Everything a restore checks before it creates anything, in one report: the image (inventory,
// checksums, every field), the files it needs (by inode or by content), the vdso, the CPU and
// kernel, PIDs and ports. `cryo restore` stops on any problem; `cryo restore --check` prints it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "image/image_set.h"
#include "image/tree_plan.h"
#include "restore/vdso_proxy.h"

namespace cryo::restore {

struct Preflight {
  std::vector<std::string> problems;  // Each one stops the restore.
  std::vector<std::string> notes;     // Differences that do not.
  TreePlan plan;                      // Meaningful only without problems.
  VdsoRedirect vdso_redirect;         // Whether and how the image's vdso entry points are redirected.
};

// Checks a loaded image and this host.
Result<Preflight> run_preflight(const ImageSet& set);

// `cryo restore --check`: loads and checks without creating anything, prints the report (text or one
// JSON object) on stdout, and returns 0 only when a restore would start.
int print_preflight(const std::string& dir, bool json);

}  // namespace cryo::restore
