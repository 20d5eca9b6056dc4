// What a vdso is made of, as a process sees it: a hash of the whole [vdso] mapping and the entry
// points of its functions. Another build of the kernel can keep the layout of [vvar]/[vdso] and
// still move its functions, and glibc caches their addresses: restore compares these.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "kernel/elf_file.h"

namespace cryo {

struct VdsoText {
  uint64_t xxh3 = 0;
  uint64_t size = 0;
  std::vector<elf::Symbol> symbols;
  std::vector<uint8_t> bytes;  // The mapping itself.
};

// From the bytes of a [vdso] mapping.
Result<VdsoText> describe_vdso(std::span<const uint8_t> bytes);

// Of the [vdso] mapping [start, end) of process `pid` (read with process_vm_readv; 0: cryo itself).
Result<VdsoText> read_vdso_text(pid_t pid, uint64_t start, uint64_t end);

}  // namespace cryo
