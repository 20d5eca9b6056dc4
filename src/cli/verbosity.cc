#include "base/logging.h"
#include "cli/commands.h"

namespace cryo::cli {

void apply_verbosity(int count) {
  logging::set_console_level(count <= 0 ? spdlog::level::warn : count == 1 ? spdlog::level::info : spdlog::level::debug);
}

}  // namespace cryo::cli
