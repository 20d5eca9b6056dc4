// The running process's [vdso] for the tests of the vdso code: its address and bytes, copied out of
// memory, and a copy of it whose functions moved (their dynamic symbols shifted), as another build of
// the kernel would have them.
#pragma once

#include <elf.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace cryo::test {

struct OwnVdso {
  uint64_t base = 0;
  std::vector<uint8_t> bytes;
};

inline OwnVdso own_vdso() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find("[vdso]") == std::string::npos) continue;
    uint64_t start = std::stoull(line.substr(0, line.find('-')), nullptr, 16);
    uint64_t end = std::stoull(line.substr(line.find('-') + 1), nullptr, 16);
    const auto* p = reinterpret_cast<const uint8_t*>(start);
    return {start, std::vector<uint8_t>(p, p + (end - start))};
  }
  return {};
}

// A copy of the vdso whose functions all sit `by` bytes further on.
inline std::vector<uint8_t> with_functions_moved(std::vector<uint8_t> bytes, uint64_t by) {
  Elf64_Ehdr h;
  std::memcpy(&h, bytes.data(), sizeof h);
  for (int i = 0; i < h.e_shnum; ++i) {
    Elf64_Shdr sh;
    std::memcpy(&sh, bytes.data() + h.e_shoff + i * sizeof sh, sizeof sh);
    if (sh.sh_type != SHT_DYNSYM) continue;
    for (uint64_t at = sh.sh_offset; at + sizeof(Elf64_Sym) <= sh.sh_offset + sh.sh_size; at += sizeof(Elf64_Sym)) {
      Elf64_Sym sym;
      std::memcpy(&sym, bytes.data() + at, sizeof sym);
      if (ELF64_ST_TYPE(sym.st_info) == STT_FUNC && sym.st_shndx != SHN_UNDEF) sym.st_value += by;
      std::memcpy(bytes.data() + at, &sym, sizeof sym);
    }
  }
  return bytes;
}

}  // namespace cryo::test
