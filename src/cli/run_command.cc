// cryo run: starts a workload as PID 1 of fresh PID, mount and time namespaces (see ns/launcher.h).
#include <cstdio>
#include <optional>

#include "base/duration.h"
#include "cli/commands.h"
#include "cli/tree_records.h"
#include "ns/launcher.h"
#include "ns/signal_forwarder.h"

namespace cryo::cli {
namespace {

struct RunOptions {
  std::string boottime, monotonic, uptime;
  std::optional<std::string> hostname;
  bool detach = false;
  std::string log_file;
  int verbosity = 0;
  std::vector<std::string> command;
};

// A malformed duration is a usage error, like an unknown option.
Result<std::optional<int64_t>> duration_option(const std::string& option, const std::string& text) {
  if (text.empty()) return std::optional<int64_t>();
  auto parsed = parse_duration(text);
  if (!parsed) return fail(parsed.error().context(option + " '" + text + "'").with_exit_status(2));
  return std::optional<int64_t>(*parsed);
}

Result<int> run(const RunOptions& options) {
  apply_verbosity(options.verbosity);
  LaunchSpec spec;
  spec.argv = options.command;
  ASSIGN_OR_RETURN(spec.clocks.boottime_offset_ns, duration_option("--boottime", options.boottime));
  ASSIGN_OR_RETURN(spec.clocks.monotonic_offset_ns, duration_option("--monotonic", options.monotonic));
  ASSIGN_OR_RETURN(spec.clocks.uptime_ns, duration_option("--uptime", options.uptime));
  if (spec.clocks.uptime_ns && *spec.clocks.uptime_ns < 0)
    return fail(make_error("--uptime '" + options.uptime + "': an uptime cannot be negative").with_exit_status(2));
  spec.hostname = options.hostname;
  spec.detach = options.detach;
  spec.log_path = options.log_file;

  if (options.detach) {
    ASSIGN_OR_RETURN(pid_t init, launch(spec));
    record_detached_tree(init, TreeOrigin::Run, options.command, "");
    std::printf("%d\n", init);
    std::fflush(stdout);
    return 0;
  }
  SignalForwarder forwarder;
  spec.workload_signal_mask = forwarder.original_mask();
  ASSIGN_OR_RETURN(pid_t init, launch(spec));
  return forwarder.wait_for_exit(init);
}

}  // namespace

Subcommand add_run_command(CLI::App& cryo) {
  auto options = std::make_shared<RunOptions>();
  auto* app = cryo.add_subcommand("run", "Run a command as PID 1 of new PID, mount and time namespaces: cryo run [OPTIONS] -- CMD [ARG...]");
  auto* boottime = app->add_option("--boottime", options->boottime, "Offset of CLOCK_BOOTTIME inside (e.g. 49d, -2h)");
  auto* monotonic =
      app->add_option("--monotonic", options->monotonic, "Offset of CLOCK_MONOTONIC inside (e.g. 36h, -15m)");
  app->add_option("--uptime", options->uptime, "Start with /proc/uptime, CLOCK_BOOTTIME and CLOCK_MONOTONIC at DUR")
      ->excludes(boottime)
      ->excludes(monotonic);
  app->add_option("--hostname", options->hostname, "Hostname inside (gives the tree its own UTS namespace)");
  auto* detach = app->add_flag("--detach", options->detach,
                               "Print the init's host PID and return once the command runs; its output goes to --log");
  app->add_option("--log", options->log_file, "With --detach: append the command's stdout and stderr to FILE")
      ->needs(detach);
  app->add_flag("-v,--verbose", options->verbosity, "More output (-vv for debug)");
  app->add_option("command", options->command, "The command and its arguments, after --")->required();
  return {app, [options] { return run(*options); }};
}

}  // namespace cryo::cli
