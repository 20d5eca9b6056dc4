// cryo restore: recreates a checkpointed tree in fresh namespaces (see restore/restorer.h).
#include <map>
#include <memory>

#include "base/duration.h"
#include "base/interrupt.h"
#include "cli/commands.h"
#include "cli/tree_records.h"
#include "image/run_stats.h"
#include "restore/restorer.h"

namespace cryo::cli {
namespace {

struct RestoreCommandOptions {
  restore::RestoreOptions restore;
  std::string shift;
  bool quiet = false;
  int verbosity = 0;
};

Result<int> restore_command(RestoreCommandOptions options) {
  // In the foreground, the signal forwarder takes them from here and passes them to the tree.
  block_interrupt_signals_until_exit();
  apply_verbosity(options.verbosity);
  RETURN_IF_ERROR(image::check_stats_target(options.restore.stats_json, options.restore.dir));
  options.restore.progress = !options.quiet;
  if (!options.shift.empty()) {
    auto shift = parse_duration(options.shift);
    if (!shift) return fail(shift.error().context("--shift '" + options.shift + "'").with_exit_status(2));
    options.restore.shift_ns = *shift;
  }
  if (options.restore.detach)
    options.restore.on_detached = [dir = options.restore.dir](pid_t init) {
      record_detached_tree(init, TreeOrigin::Restore, {}, dir);
    };
  return restore::restore_tree(options.restore);
}

}  // namespace

Subcommand add_restore_command(CLI::App& cryo) {
  auto options = std::make_shared<RestoreCommandOptions>();
  auto* app = cryo.add_subcommand("restore", "Restore a process tree from an image directory, with its PIDs and clocks");
  app->add_option("-D,--images-dir", options->restore.dir, "The image directory written by cryo dump")->required();
  app->add_flag("--detach", options->restore.detach, "Print the restored init's host PID and return once the tree runs");
  app->add_flag("--lazy", options->restore.lazy,
                "Release the tree before its private memory is in place: cryo serves it through userfaultfd, faulted pages "
                "first, and stays until all are in (with --detach in the background)");
  app->add_option("--clock", options->restore.clock,
                  "freeze: the tree's clocks continue from the checkpoint (default); elapsed: they include the time since")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, restore::ClockPolicy>{{"freeze", restore::ClockPolicy::Freeze},
                                                      {"elapsed", restore::ClockPolicy::Elapsed}},
          CLI::ignore_case));
  app->add_option("--shift", options->shift, "Move the tree's monotonic and boot clocks by DUR more (e.g. 1h, -30s)");
  app->add_option("--pid-method", options->restore.pid_method, "How processes get their PIDs: clone3 (default) or ns_last_pid")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, restore::PidMethod>{{"clone3", restore::PidMethod::Clone3},
                                                    {"ns_last_pid", restore::PidMethod::NsLastPid}},
          CLI::ignore_case));
  app->add_option("--verify", options->restore.verify_key,
                  "Restore only an image signed (cryo dump --sign) by the key of this public key file");
  app->add_flag("--check", options->restore.check_only,
                "Check the image and this host as a restore would, print every problem and note, create nothing; exit 0 only "
                "when a restore would start");
  app->add_flag("--json", options->restore.json, "With --check: print one JSON object");
  app->add_flag("--allow-copy", options->restore.allow_copy,
                "Restore even while the dumped tree still runs, or another restore of this image does: a second live copy");
  app->add_flag("!--no-verify", options->restore.verify,
                "Release the tree without comparing what the kernel shows of it with the dump's fingerprints");
  app->add_option("--stats-json", options->restore.stats_json,
                  "Write the restore's stats (time of each stage, counts, bytes) as one JSON object to FILE, or - for stdout "
                  "(after the PID with --detach); the image directory keeps them as stats-restore.json");
  app->add_flag("-q,--quiet", options->quiet, "No progress line on the terminal");
  app->add_flag("-v,--verbose", options->verbosity, "More output (-vv for debug)");
  return {app, [options] { return restore_command(*options); }};
}

}  // namespace cryo::cli
