#include "cli/commands.h"

namespace cryo::cli {

Subcommand add_dump_command(CLI::App& cryo) {
  auto* app = cryo.add_subcommand("dump", "dump (being written)");
  return {app, []() -> Result<int> { return fail("dump: not implemented yet"); }};
}

}  // namespace cryo::cli
