#include "cli/commands.h"

namespace cryo::cli {

Subcommand add_run_command(CLI::App& cryo) {
  auto* app = cryo.add_subcommand("run", "run (being written)");
  return {app, []() -> Result<int> { return fail("run: not implemented yet"); }};
}

}  // namespace cryo::cli
