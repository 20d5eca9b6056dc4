#pragma once

#include <cstdint>

namespace cryo {

// cryo supports x86-64 only, whose base page is 4 KiB. Pagemap entries, page images, address
// arithmetic and validation all count in this unit, so it has one definition that every stage uses.
inline constexpr uint64_t kPageSize = 4096;

}  // namespace cryo
