// cryo dump: freeze a PID-namespace tree, write its image, then kill it or let it run on.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "image/run_stats.h"

namespace cryo::dump {

struct DumpOptions {
  pid_t pid = 0;            // Host PID of the tree's init.
  std::string dir;          // Image directory (new, or empty, or holding only logs).
  bool leave_running = false;
  bool pre_copy = false;    // --pre-copy (with leave_running): copy memory while the tree runs (dump/pre_copy.h).
  std::string sign_key;     // Secret key file to sign the image with (cryo keygen); empty: unsigned.
  std::vector<std::string> include;  // --include: files (or directories of used files) to carry.
  bool progress = true;     // The progress line on a terminal (base/progress_line.h); off with --quiet.
  bool compress = false;    // --compress: page data as zstd chunks (zpages-<pid>.img).
};

struct DumpSummary {
  uint32_t processes = 0;
  uint64_t page_bytes = 0;  // Bytes of page contents stored.
  double total_ms = 0;
  double frozen_ms = 0;     // From the first seize to the kill or resume (with --pre-copy: the final freeze).
  image::RunStats stats;    // As kept in the image's stats-dump.json.
};

// Dumps the tree. On success the image is complete in options.dir with its full debug log in
// dump.log; on failure no image is left (a dump.log explaining the failure is, where possible) and
// the tree runs on unharmed.
Result<DumpSummary> dump_tree(const DumpOptions& options);

}  // namespace cryo::dump
