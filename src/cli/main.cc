// cryo: checkpoint/restore of process trees in their own PID and time namespaces.
#include <google/protobuf/stubs/logging.h>

#include <cstdio>
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

void print_error(const cryo::Error& error) {
  std::string line = "cryo: error: " + error.message;
  if (!error.hint.empty()) line += "; " + error.hint;
  std::fprintf(stderr, "%s\n", line.c_str());
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
    auto status = command.action();
    cryo::logging::close_file();
    if (!status) {
      print_error(status.error());
      return status.error().exit_status;
    }
    return *status;
  }
  return 2;
}
