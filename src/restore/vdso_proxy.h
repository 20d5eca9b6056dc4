// A proxy for a vdso that moved: on a kernel whose vdso differs from the dumping kernel's, glibc's
// cached pointers (and any other program's) still point at the old vdso's entry points. Restore then
// places this kernel's vdso, with its data pages, at a free address, and maps in the old [vdso] range
// a copy of the old vdso (or int3 where its bytes were not recorded) with a jump at every old entry
// point to the function of the same name in the new one, as CRIU does. A program that parses the old
// vdso's ELF later (through AT_SYSINFO_EHDR) finds the old symbols, which lead to the jumps.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "kernel/elf_file.h"

namespace cryo::restore {

// What restore does about the vdso, decided by the host check before anything is created.
struct VdsoRedirect {
  bool needed = false;                    // Every process gets this kernel's vdso elsewhere and a proxy.
  std::vector<elf::Symbol> old_symbols;   // The dumping kernel's entry points.
  std::vector<uint8_t> old_text;          // Its bytes; empty in images from before they were recorded.
  std::vector<elf::Symbol> new_symbols;   // This kernel's.
};

// The longest jump written: movabs $target, %r11; jmp *%r11. %r11 is clobbered by every syscall and
// saved by no one across a call, so no caller of a vdso function keeps anything in it.
constexpr uint64_t kLongJumpSize = 13;

// Checks that every entry point of `old_symbols` can be redirected: a function of that name exists in
// `new_symbols`, and the longest jump fits between it and the next entry point (or the end of the old
// vdso, `old_size` bytes). Returns every reason it cannot, one per symbol; empty when it can.
std::vector<std::string> redirect_problems(const std::vector<elf::Symbol>& old_symbols, uint64_t old_size,
                                           const std::vector<elf::Symbol>& new_symbols);

// The `size` bytes to map at `proxy_base`: `old_text` (or int3 when it is empty or not `size` bytes)
// with a jump at each old entry point to `new_base` + the new function's offset. Fails as
// redirect_problems would.
Result<std::vector<uint8_t>> build_vdso_proxy(std::span<const uint8_t> old_text, uint64_t size,
                                              const std::vector<elf::Symbol>& old_symbols,
                                              const std::vector<elf::Symbol>& new_symbols, uint64_t proxy_base,
                                              uint64_t new_base);

// Where a jump written by build_vdso_proxy at `at` (an address in `proxy`, which starts at
// `proxy_base`) leads; 0 when the bytes there are no such jump. For tests and the log.
uint64_t jump_target(std::span<const uint8_t> proxy, uint64_t proxy_base, uint64_t at);

}  // namespace cryo::restore
