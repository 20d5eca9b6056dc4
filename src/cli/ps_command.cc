// cryo ps: the trees `cryo run --detach` and `cryo restore --detach` started on this host that still
// run (see cli/tree_records.h for how a record is believed), as a table or one JSON object.
#include <time.h>

#include <cstdio>

#include "base/display_text.h"
#include "base/duration.h"
#include "base/logging.h"
#include "base/text_table.h"
#include "cli/commands.h"
#include "cli/tree_records.h"

namespace cryo::cli {
namespace {

struct PsOptions {
  bool json = false;
  int verbosity = 0;
};

// "2026-12-02T05:30:01Z": UTC, so that two hosts' listings compare.
std::string utc_time(int64_t realtime_ns) {
  time_t seconds = static_cast<time_t>(realtime_ns / 1'000'000'000);
  struct tm tm;
  char text[32] = "?";
  if (::gmtime_r(&seconds, &tm)) std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string signed_duration(int64_t ns) {
  std::string text = format_duration(ns);
  return ns > 0 ? "+" + text : text;
}

std::string command_text(const std::vector<std::string>& command) {
  std::string out;
  for (const auto& arg : command) out += (out.empty() ? "" : " ") + terminal_safe(arg);
  return out;
}

std::string origin_name(TreeOrigin origin) { return origin == TreeOrigin::Run ? "run" : "restore"; }

std::string render_text(const TreeListing& listing) {
  std::vector<std::vector<std::string>> rows = {{"PID", "ORIGIN", "STARTED", "MONOTONIC", "BOOTTIME", "IMAGE", "COMMAND"}};
  for (const auto& tree : listing.running)
    rows.push_back({std::to_string(tree.init), origin_name(tree.origin), utc_time(tree.started_ns),
                    signed_duration(tree.offsets.monotonic_ns), signed_duration(tree.offsets.boottime_ns),
                    tree.image.empty() ? "-" : terminal_safe(tree.image), command_text(tree.command)});
  return format_table(rows);
}

std::string render_json(const TreeListing& listing) {
  std::string out = "{\"trees\":[";
  for (size_t t = 0; t < listing.running.size(); ++t) {
    const TreeRecord& tree = listing.running[t];
    out += std::string(t ? "," : "") + "{\"pid\":" + std::to_string(tree.init) +
           ",\"origin\":" + json_string(origin_name(tree.origin)) + ",\"started\":" + json_string(utc_time(tree.started_ns)) +
           ",\"started_ns\":" + std::to_string(tree.started_ns) +
           ",\"monotonic_offset_ns\":" + std::to_string(tree.offsets.monotonic_ns) +
           ",\"boottime_offset_ns\":" + std::to_string(tree.offsets.boottime_ns) +
           ",\"image\":" + (tree.image.empty() ? "null" : json_string(tree.image)) + ",\"command\":[";
    for (size_t i = 0; i < tree.command.size(); ++i) out += (i ? "," : "") + json_string(tree.command[i]);
    out += "],\"pidns_inode\":" + std::to_string(tree.identity.pidns_inode) +
           ",\"init_start_time\":" + std::to_string(tree.identity.init_start_time) + "}";
  }
  out += "],\"skipped\":[";
  for (size_t i = 0; i < listing.warnings.size(); ++i) out += (i ? "," : "") + json_string(listing.warnings[i]);
  return out + "]}\n";
}

Result<int> ps(const PsOptions& options) {
  apply_verbosity(options.verbosity);
  ASSIGN_OR_RETURN(TreeListing listing, list_running_trees());
  // A record cryo did not write is skipped, never shown and never removed: say so on stderr.
  for (const auto& warning : listing.warnings) logging::get("ps")->warn("{}", terminal_safe(warning));
  std::string out = options.json ? render_json(listing) : render_text(listing);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace

Subcommand add_ps_command(CLI::App& cryo) {
  auto options = std::make_shared<PsOptions>();
  auto* app = cryo.add_subcommand("ps", "List the trees cryo run --detach and cryo restore --detach started that still run");
  app->add_flag("--json", options->json, "Print one JSON object instead of a table");
  app->add_flag("-v,--verbose", options->verbosity, "More output (-vv for debug)");
  return {app, [options] { return ps(*options); }};
}

}  // namespace cryo::cli
