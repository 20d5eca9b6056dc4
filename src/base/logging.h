// One spdlog logger per module ("dump", "restore", "ptrace", ...), all writing to stderr and, while a
// dump or restore runs, to its full debug log next to the images.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace cryo::logging {

// The logger of a module, created on first use with the current sinks.
std::shared_ptr<spdlog::logger> get(const std::string& module);

// Console verbosity: warnings by default, info with -v, debug with -vv.
void set_console_level(spdlog::level::level_enum level);

// Adds a file sink at debug level, writing to fd, to every logger (existing and future) until
// close_file() is called. The caller opens the file (see DirFd::replace_file).
void open_file(UniqueFd fd);
void close_file();

}  // namespace cryo::logging
