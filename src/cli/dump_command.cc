// cryo dump: checkpoints the process tree of a PID namespace into an image directory.
#include <cerrno>

#include "base/interrupt.h"
#include "base/logging.h"
#include "cli/commands.h"
#include "cli/tree_records.h"
#include "dump/dump.h"
#include "image/run_stats.h"

namespace cryo::cli {
namespace {

struct DumpCommandOptions {
  dump::DumpOptions dump;
  std::string stats_json;
  bool quiet = false;
  int verbosity = 0;
};

// ENOSPC or EDQUOT while the images are written: the image was removed and the tree runs on, and
// the user needs to know where the space ran out. Nothing else a dump does fails with these.
Error with_full_disk_hint(Error error, const std::string& dir) {
  if ((error.err == ENOSPC || error.err == EDQUOT) && error.hint.empty())
    error.hint = "no space is left for the image in " + dir + ": free some there, or dump to another directory";
  return error;
}

Result<int> run_dump(DumpCommandOptions options) {
  block_interrupt_signals_until_exit();
  apply_verbosity(options.verbosity);
  RETURN_IF_ERROR(image::check_stats_target(options.stats_json, options.dump.dir));
  options.dump.progress = !options.quiet;
  // Read before the dump ends the tree: its record (cryo ps) is removed only if it names this tree.
  auto identity = read_tree_identity(options.dump.pid);
  auto dumped = dump::dump_tree(options.dump);
  if (!dumped) return fail(with_full_disk_hint(dumped.error(), options.dump.dir));
  const dump::DumpSummary& summary = *dumped;
  if (identity && !options.dump.leave_running) forget_tree_record(options.dump.pid, *identity);
  // The image is whole and the tree ended (or runs on): a failure here is the stats' alone.
  if (!options.stats_json.empty()) {
    if (auto written = image::write_stats_json(options.stats_json, summary.stats); !written)
      logging::get("dump")->warn("--stats-json {}: {}", options.stats_json, written.error().message);
  }
  logging::get("dump")->info("dumped {} process{}, {:.1f} MiB of pages in {:.0f} ms (frozen {:.0f} ms)", summary.processes,
                             summary.processes == 1 ? "" : "es", static_cast<double>(summary.page_bytes) / (1 << 20),
                             summary.total_ms, summary.frozen_ms);
  return 0;
}

}  // namespace

Subcommand add_dump_command(CLI::App& cryo) {
  auto options = std::make_shared<DumpCommandOptions>();
  auto* app = cryo.add_subcommand("dump", "Checkpoint the process tree of a PID namespace into an image directory");
  app->add_option("-t,--tree", options->dump.pid, "Host PID of the tree's init (PID 1 of its namespace)")->required();
  app->add_option("-D,--images-dir", options->dump.dir, "Image directory to create (must be new or empty)")->required();
  app->add_option("--sign", options->dump.sign_key, "Sign the image with this secret key (made by cryo keygen)");
  app->add_flag("--leave-running", options->dump.leave_running, "Let the tree run on after the dump instead of killing it");
  app->add_flag("--pre-copy", options->dump.pre_copy,
                "With --leave-running: copy the memory while the tree runs, tracking its writes, so that the tree is frozen "
                "only to copy what changed since")
      ->needs("--leave-running");
  app->add_flag("--compress", options->dump.compress,
                "Store the memory pages compressed (zstd, in independent chunks that restore decompresses one at a time)");
  app->add_option("--include", options->dump.include,
                  "Carry these files in the image (a directory: the files the tree uses under it), for a host that lacks them")
      ->expected(1, -1);
  app->add_option("--stats-json", options->stats_json,
                  "Write the dump's stats (time of each stage, frozen time, counts, bytes) as one JSON object to FILE, or - for "
                  "stdout; the image always keeps them as stats-dump.json");
  app->add_flag("-q,--quiet", options->quiet, "No progress line on the terminal");
  app->add_flag("-v,--verbose", options->verbosity, "More output (-vv for debug)");
  return {app, [options] { return run_dump(*options); }};
}

}  // namespace cryo::cli
