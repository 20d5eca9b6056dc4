// cryo restore as a whole: check the image and the host, create the namespaces and the placeholder
// tree, turn each placeholder into its process, release them all together, then wait or detach.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "base/error.h"
#include "restore/clock_policy.h"
#include "restore/placeholder.h"

namespace cryo::restore {

struct RestoreOptions {
  std::string dir;
  bool detach = false;
  ClockPolicy clock = ClockPolicy::Freeze;
  int64_t shift_ns = 0;
  PidMethod pid_method = PidMethod::Clone3;
  std::string verify_key;  // Public key file: restore only an image it signed. Empty: no signature needed.
  bool check_only = false;  // --check: print the pre-flight, create nothing.
  bool json = false;        // With --check.
  // Restore even while the dumped tree still runs, or another restore of the image does (a copy).
  bool allow_copy = false;
  // Compare the rebuilt tree with the fingerprints of the dump before releasing it.
  bool verify = true;
  // With detach: called with the init's host PID once the tree runs, before the PID is printed.
  std::function<void(pid_t)> on_detached;
  // --lazy: private anonymous memory is served through userfaultfd after the release (page_server.h).
  bool lazy = false;
  bool progress = true;    // The progress line on a terminal (base/progress_line.h); off with --quiet.
  std::string stats_json;  // --stats-json: a file, or "-" for stdout; empty: none (stats-restore.json is always kept).
};

// Returns cryo's exit status: the restored init's (128+N for signal N) in the foreground, 0 with
// --detach after printing the init's host PID.
Result<int> restore_tree(const RestoreOptions& options);


}  // namespace cryo::restore
