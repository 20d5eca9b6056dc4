// Every subcommand lives in its own file and registers itself here: its options on a CLI11
// subcommand, and the action main() runs when that subcommand is chosen.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

#include "base/error.h"

namespace cryo::cli {

// What a chosen subcommand does; the value is cryo's exit status.
using Action = std::function<Result<int>()>;

struct Subcommand {
  CLI::App* app;
  Action action;
};

Subcommand add_run_command(CLI::App& cryo);
Subcommand add_dump_command(CLI::App& cryo);
Subcommand add_restore_command(CLI::App& cryo);
Subcommand add_show_command(CLI::App& cryo);
Subcommand add_check_command(CLI::App& cryo);
Subcommand add_keygen_command(CLI::App& cryo);
Subcommand add_ps_command(CLI::App& cryo);

// What main() does with an action's result: prints an error as one line, `cryo: error: ...; hint`,
// closes the log file, and returns the exit status.
int finish(const Result<int>& status);

// Console verbosity from a -v count: 0 warnings, 1 info, 2+ debug.
void apply_verbosity(int count);

}  // namespace cryo::cli
