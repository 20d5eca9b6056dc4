// Small whole-file helpers for /proc and sysfs text.
#pragma once

#include <string>

#include "base/error.h"

namespace cryo {

// Reads a whole file (works for /proc files, whose size stat reports as 0).
Result<std::string> read_file(const std::string& path);
// The target of a symbolic link (a /proc link: "pipe:[42]", a path).
Result<std::string> read_link(const std::string& path);
// Writes all of data to path, which must exist (for /proc and /sys knobs).
Result<> write_existing_file(const std::string& path, const std::string& data);
// Writes all of data to fd, retrying short writes and EINTR.
Result<> write_all(int fd, const void* data, size_t size, const std::string& what);
// Reads exactly size bytes at offset; a short file is an error naming what.
Result<> pread_exact(int fd, void* data, size_t size, uint64_t offset, const std::string& what);

}  // namespace cryo
