// Checks of single values of an image that the validations of many kinds share: an address a
// process can map, a path restore may open. Pure: no system state is consulted.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace cryo::image {

// Where a kind's validation sends each problem it finds, one line each ("rlimit 7: soft limit above
// the hard limit"); the caller prefixes the process.
using ProblemSink = std::function<void(const std::string&)>;

// True for an absolute path without "." or ".." components, empty components or NULs.
bool is_clean_absolute_path(const std::string& path);
// True for a user-space address x86_64 can map (below the 47-bit canonical limit).
bool is_user_address(uint64_t address);

}  // namespace cryo::image
