#include <cstdio>

#include "base/logging.h"
#include "cli/commands.h"

namespace cryo::cli {

int finish(const Result<int>& status) {
  logging::close_file();
  if (status) return *status;
  std::string line = "cryo: error: " + status.error().message;
  if (!status.error().hint.empty()) line += "; " + status.error().hint;
  std::fprintf(stderr, "%s\n", line.c_str());
  return status.error().exit_status;
}

}  // namespace cryo::cli
