// Where things go in a placeholder's address space while it is turned into its process: a free spot
// for the syscall trampoline, and how to carry the vdso and its data pages to where the image had them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/page_size.h"

namespace cryo::restore {

// The top of the user address space with 4-level page tables; mmap never goes higher unless asked.
constexpr uint64_t kUserAddressLimit = 0x7ffffffff000;

struct AddressRange {
  uint64_t start = 0;
  uint64_t end = 0;
  bool overlaps(const AddressRange& other) const { return start < other.end && other.start < end; }
};

struct NamedRange {
  std::string name;  // "[vvar]", "[vvar_vclock]", "[vdso]"
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t size() const { return end - start; }
};

// The lowest page-aligned start in [lowest, highest) of `size` bytes that overlaps none of `busy`.
std::optional<uint64_t> find_free_range(std::vector<AddressRange> busy, uint64_t size, uint64_t lowest,
                                        uint64_t highest = kUserAddressLimit);

struct SpecialMove {
  std::string name;
  uint64_t from = 0;
  uint64_t size = 0;
  uint64_t to = 0;
};

struct SpecialMappingPlan {
  std::vector<SpecialMove> moves;         // mremap(from, size, size, MAYMOVE|FIXED, to), in this order.
  std::vector<NamedRange> unmap;          // Placeholder mappings the image does not have.
};

// Plans moving the placeholder's special mappings (`current`) to the image's (`target`). The vdso
// only works while [vvar] and [vdso] keep their distance, so all move by one delta; an mremap whose
// destination overlaps its own source is EINVAL, and MREMAP_FIXED silently unmaps whatever is at the
// destination, so the moves are ordered to never land on a mapping not yet moved, or go through a
// free temporary area (found outside `busy`) when the delta is smaller than a mapping.
Result<SpecialMappingPlan> plan_special_moves(const std::vector<NamedRange>& current, const std::vector<NamedRange>& target,
                                              const std::vector<AddressRange>& busy, uint64_t lowest);

}  // namespace cryo::restore
