// `cryo` is two executables. `cryo` itself is small and static: it runs `cryo run` (which needs
// none of the image code) and execs cryo-core for every other command, --help and every usage error,
// so that those read exactly as before. Starting a workload then costs what the kernel's work costs,
// not loading libprotobuf, libsodium and zstd and registering every image descriptor.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace cryo::cli {

// Where cryo-core may be, beside `exe` first (the build tree), then where `cmake --install` puts it
// (CRYO_CORE_FROM_BINDIR, relative to the directory of `cryo`).
std::vector<std::string> core_binary_candidates(const std::string& exe);

// Execs cryo-core with cryo's own argv (argv[0] too, which CLI11's usage line prints). Returns only
// when there is none to exec, with the error naming where it looked.
Error exec_core_binary(char** argv);

}  // namespace cryo::cli
