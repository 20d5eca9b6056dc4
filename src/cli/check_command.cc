#include "cli/commands.h"

namespace cryo::cli {

Subcommand add_check_command(CLI::App& cryo) {
  auto* app = cryo.add_subcommand("check", "check (being written)");
  return {app, []() -> Result<int> { return fail("check: not implemented yet"); }};
}

}  // namespace cryo::cli
