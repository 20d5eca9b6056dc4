// Reading another process's memory at one address (process_vm_readv), for the small reads cryo makes
// outside the page dump: a vdso's text, a probe's marker. The page dump batches its own iovecs.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.h"

namespace cryo {

// Reads exactly `len` bytes at `address` of `pid` into `out`. A short read is an error like a failed
// one, both naming `what` ("[vdso]", "the marker") and the pid.
Result<> read_process_memory(pid_t pid, uint64_t address, void* out, size_t len, const std::string& what);

}  // namespace cryo
