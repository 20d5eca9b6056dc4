// /proc/PID/statm: a process's memory in pages. A dump's progress line takes its total from it
// before any page is read: resident minus shared (file-backed and shared memory) is what its
// private pages come to, the most a dump reads of it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string_view>

#include "base/error.h"

namespace cryo {

struct ProcStatm {
  uint64_t size_pages = 0;
  uint64_t resident_pages = 0;
  uint64_t shared_pages = 0;

  // Resident pages that are not file-backed or shared, in bytes.
  uint64_t private_resident_bytes() const {
    return (resident_pages > shared_pages ? resident_pages - shared_pages : 0) * 4096;
  }
};

// "size resident shared text lib data dt": the first three are taken, all seven must be numbers.
Result<ProcStatm> parse_proc_statm(std::string_view text);
Result<ProcStatm> read_proc_statm(pid_t pid);

}  // namespace cryo
