// The memory half of the host check: shared anonymous memory, memfds and SysV segments live in the host's memory
// (or swap) once restored, so the data an image stores for them must fit there. Checked before
// anything is created, so a too large image is refused with a clear line instead of ENOSPC or the
// OOM killer halfway through filling an object. Deleted files live on their filesystem, whose room
// the kernel reports when the file is filled.
#pragma once

#include <cstdint>
#include <string_view>

#include "restore/host_check.h"

namespace cryo::restore {

// MemTotal + SwapTotal of /proc/meminfo text, in bytes; 0 when they are missing.
uint64_t parse_memory_and_swap(std::string_view meminfo);

// Adds a problem when the stored pages of the image's shared anonymous memory, memfds and paged SysV segments are more
// than `memory_bytes` (0: unknown, nothing is checked).
void check_object_memory(const ImageSet& set, uint64_t memory_bytes, HostCheck* out);

}  // namespace cryo::restore
