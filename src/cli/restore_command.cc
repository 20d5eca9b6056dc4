#include "cli/commands.h"

namespace cryo::cli {

Subcommand add_restore_command(CLI::App& cryo) {
  auto* app = cryo.add_subcommand("restore", "restore (being written)");
  return {app, []() -> Result<int> { return fail("restore: not implemented yet"); }};
}

}  // namespace cryo::cli
