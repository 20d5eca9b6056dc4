// The two facts cryo reads from ELF files itself: a file's build-id (the NT_GNU_BUILD_ID note), which
// names an executable or library across hosts, and the dynamic symbols of the vdso, where processes
// may have cached function pointers. Every offset and count is checked against the bytes given:
// the input is a file or memory cryo does not trust.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"

namespace cryo::elf {

// Bounds that keep a hostile file from making cryo read much: real binaries have a few dozen
// program headers and a build-id of 20 bytes (SHA-1) or 16 (MD5/UUID).
constexpr uint32_t kMaxProgramHeaders = 256;
constexpr uint64_t kMaxNoteSegment = 64 << 10;
constexpr uint32_t kMaxBuildIdSize = 64;

// Reads `size` bytes at `offset` into `out`; false when they are not all there.
using ReadAt = bool (*)(void* context, uint64_t offset, void* out, size_t size);

// The build-id of a 64-bit little-endian ELF file read through `read`, as raw bytes; "" when the file
// is no such ELF or has no build-id note (neither is an error: most data files are not ELF).
std::string build_id(ReadAt read, void* context, uint64_t file_size);
// The same for an open file descriptor (pread).
std::string build_id_of_fd(int fd, uint64_t file_size);

struct Symbol {
  std::string name;
  uint64_t offset = 0;  // From the start of the image (the vdso's load address is its start).
  bool operator==(const Symbol&) const = default;
};

// The defined functions of the dynamic symbol table (SHT_DYNSYM) of an ELF image held in memory,
// as the vdso is mapped: the kernel maps the whole file, section headers included.
Result<std::vector<Symbol>> dynamic_functions(std::span<const uint8_t> image);

}  // namespace cryo::elf
