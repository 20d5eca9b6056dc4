// cryo-core: every command of cryo. `cryo` itself (front_main.cc) runs `cryo run` and execs this
// binary for everything else, so that starting a workload loads none of the image code's libraries.
#include <google/protobuf/stubs/logging.h>

#include <cstdio>
#include <exception>
#include <vector>

#include "base/logging.h"
#include "cli/commands.h"

namespace {

// libprotobuf prints its own complaint (e.g. invalid UTF-8 in a damaged image's string field) to
// stderr, a second line beside cryo's one error that already names the file: keep it for the log.
void protobuf_to_debug_log(google::protobuf::LogLevel level, const char* filename, int line, const std::string& message) {
  cryo::logging::get("image")->debug("libprotobuf (level {}) {}:{}: {}", static_cast<int>(level), filename,
                                     line, message);
}

}  // namespace

int main(int argc, char** argv) {
  google::protobuf::SetLogHandler(protobuf_to_debug_log);
  CLI::App app{"cryo: checkpoint/restore of process trees in their own PID and time namespaces"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("cryo ") + CRYO_VERSION);
  std::vector<cryo::cli::Subcommand> commands = {
      cryo::cli::add_run_command(app),   cryo::cli::add_dump_command(app),  cryo::cli::add_restore_command(app),
      cryo::cli::add_show_command(app),  cryo::cli::add_check_command(app), cryo::cli::add_keygen_command(app),
      cryo::cli::add_ps_command(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    // One line, like every other cryo error, with the way to more help.
    std::fprintf(stderr, "cryo: error: %s; see 'cryo --help'\n", e.what());
    return 2;
  }
  for (const auto& command : commands) {
    if (!command.app->parsed()) continue;
    // The last resort for what cryo does not expect (std::bad_alloc with memory exhausted): caught
    // here, the stack unwinds, and the tracees' destructors detach from a frozen tree as after any error.
    try {
      return cryo::cli::finish(command.action());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cryo: error: internal error: %s\n", e.what());
      return 1;
    }
  }
  return 2;
}
