// The stats of one dump or restore, like CRIU's stats-dump and podman's --print-stats: the time of
// each stage, the frozen time (dump), what was moved (processes, threads, fds, mappings, pages) and
// the bytes written or read with their rate. One JSON object, written with --stats-json and always
// kept beside the image (stats-dump.json, stats-restore.json; image_kinds.h says why they are not
// in the inventory). A stats file read back is untrusted like every file of an image directory:
// parse_run_stats checks every field, and what it returns is all that is ever printed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/dir_fd.h"
#include "base/error.h"

namespace cryo::image {

enum class StatsCommand { Dump, Restore };

struct RunStats {
  StatsCommand command = StatsCommand::Dump;
  // False in the dump's stats written before its commit: the sync and the kill (or release) are not
  // in them yet. The dump replaces them with the complete ones once the tree is ended.
  bool complete = true;
  std::vector<std::pair<std::string, double>> stages_ms;  // Disjoint, in the order they ran.
  double total_ms = 0;
  double frozen_ms = 0;  // Dump only: from the first seize to the kill or resume.
  uint64_t processes = 0;
  uint64_t threads = 0;
  uint64_t fds = 0;
  uint64_t mappings = 0;
  uint64_t pages = 0;        // Pages stored (dump) or written into the processes (restore).
  uint64_t pages_bytes = 0;  // Their bytes: the sizes of the pages files.
  uint64_t bytes = 0;        // Image bytes written (dump) or read (restore).
  // Dump --pre-copy only (absent from the JSON otherwise): rounds while the tree ran, bytes read in them.
  uint64_t pre_copy_rounds = 0;
  uint64_t pre_copy_bytes = 0;

  // Bytes per second over the whole command (0 when it took no measurable time).
  double throughput_bytes_per_s() const;
};

const char* stats_command_name(StatsCommand command);
// stats-dump.json or stats-restore.json.
std::string_view stats_file_name(StatsCommand command);

// One JSON object, indented, ending in a newline.
std::string run_stats_to_json(const RunStats& stats);
// Checks every field of an untrusted stats object (`what` names it in errors): the command, a
// bounded list of stages with short lowercase names, finite non-negative times, counts that are
// non-negative integers a double holds exactly. Unknown keys are ignored (a newer cryo may add some).
Result<RunStats> parse_run_stats(std::string_view json, const std::string& what);
// Readable text, a few lines.
std::string format_run_stats(const RunStats& stats);

// Writes the stats into the image directory under their name, 0600, atomically: a temporary file
// is written and renamed over the old one (never followed: a symlink of that name is replaced).
Result<> write_stats_file(const DirFd& dir, const RunStats& stats);
// Reads and checks the stats of `command` from an image directory; nullopt when there are none.
Result<std::optional<RunStats>> read_stats_file(const DirFd& dir, StatsCommand command);

// `cryo show --stats`: the dump's and the restore's stats of an image directory, checked, as text
// ("== stats-dump.json ==" and its lines) or one JSON object {"dump": ..., "restore": ...} (null for
// one not there). An image directory without any is an error that says so.
Result<std::string> render_stats_files(const DirFd& dir, bool json);

// --stats-json TARGET: "-" prints to stdout; anything else is a file, created 0600 or replaced
// (through a temporary file beside it, renamed over it).
Result<> write_stats_json(const std::string& target, const RunStats& stats);

// --stats-json must not write into the image directory `image_dir`: an image holds only its own
// files (and keeps its stats as stats-*.json anyway). Checked before anything is done.
Result<> check_stats_target(const std::string& target, const std::string& image_dir);

}  // namespace cryo::image
