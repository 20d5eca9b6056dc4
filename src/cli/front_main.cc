// cryo: checkpoint/restore of process trees in their own PID and time namespaces. This executable
// runs `cryo run` itself and hands everything else to cryo-core (see cli/core_binary.h).
#include <cstring>

#include "cli/commands.h"
#include "cli/core_binary.h"

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "run") == 0) {
    // The same options as cryo-core's `run`. Only a command line they accept runs here: --help and
    // every usage error go to cryo-core, which prints them in the context of every command.
    CLI::App app{"cryo"};
    app.require_subcommand(1);
    cryo::cli::Subcommand run = cryo::cli::add_run_command(app);
    bool parsed = true;
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError&) {
      parsed = false;
    }
    if (parsed) return cryo::cli::finish(run.action());
  }
  return cryo::cli::finish(std::unexpected(cryo::cli::exec_core_binary(argv)));
}
