#include "kernel/elf_file.h"

#include <elf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cryo::elf {
namespace {

bool is_elf64_le(const Elf64_Ehdr& h) {
  return std::memcmp(h.e_ident, ELFMAG, SELFMAG) == 0 && h.e_ident[EI_CLASS] == ELFCLASS64 && h.e_ident[EI_DATA] == ELFDATA2LSB;
}

// Whether [offset, offset + size) lies inside [0, limit), without overflow.
bool inside(uint64_t offset, uint64_t size, uint64_t limit) { return offset <= limit && size <= limit - offset; }

uint64_t align4(uint64_t n) { return (n + 3) & ~uint64_t(3); }

// The build-id in one PT_NOTE segment's bytes, or "".
std::string find_build_id(const uint8_t* notes, uint64_t size) {
  uint64_t at = 0;
  while (size - at >= sizeof(Elf64_Nhdr)) {
    Elf64_Nhdr n;
    std::memcpy(&n, notes + at, sizeof n);
    at += sizeof n;
    uint64_t name_end = align4(n.n_namesz), desc_end = align4(n.n_descsz);
    if (name_end > size - at || desc_end > size - at - name_end) return "";
    const uint8_t* name = notes + at;
    const uint8_t* desc = notes + at + name_end;
    if (n.n_type == NT_GNU_BUILD_ID && n.n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0 && n.n_descsz > 0 &&
        n.n_descsz <= kMaxBuildIdSize)
      return std::string(reinterpret_cast<const char*>(desc), n.n_descsz);
    at += name_end + desc_end;
  }
  return "";
}

bool pread_all(void* context, uint64_t offset, void* out, size_t size) {
  int fd = *static_cast<int*>(context);
  auto* p = static_cast<uint8_t*>(out);
  while (size > 0) {
    ssize_t n = ::pread(fd, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    offset += static_cast<uint64_t>(n);
    size -= static_cast<size_t>(n);
  }
  return true;
}

template <typename T>
bool load(std::span<const uint8_t> image, uint64_t offset, T* out) {
  if (!inside(offset, sizeof(T), image.size())) return false;
  std::memcpy(out, image.data() + offset, sizeof(T));
  return true;
}

}  // namespace

std::string build_id(ReadAt read, void* context, uint64_t file_size) {
  Elf64_Ehdr h;
  if (file_size < sizeof h || !read(context, 0, &h, sizeof h) || !is_elf64_le(h)) return "";
  if (h.e_phentsize != sizeof(Elf64_Phdr) || h.e_phnum == 0 || h.e_phnum > kMaxProgramHeaders) return "";
  uint64_t table = uint64_t(h.e_phnum) * sizeof(Elf64_Phdr);
  if (!inside(h.e_phoff, table, file_size)) return "";
  std::vector<Elf64_Phdr> phdrs(h.e_phnum);
  if (!read(context, h.e_phoff, phdrs.data(), table)) return "";
  std::vector<uint8_t> notes;
  for (const auto& ph : phdrs) {
    if (ph.p_type != PT_NOTE || ph.p_filesz == 0 || ph.p_filesz > kMaxNoteSegment) continue;
    if (!inside(ph.p_offset, ph.p_filesz, file_size)) continue;
    notes.resize(ph.p_filesz);
    if (!read(context, ph.p_offset, notes.data(), notes.size())) continue;
    std::string id = find_build_id(notes.data(), notes.size());
    if (!id.empty()) return id;
  }
  return "";
}

std::string build_id_of_fd(int fd, uint64_t file_size) { return build_id(pread_all, &fd, file_size); }

Result<std::vector<Symbol>> dynamic_functions(std::span<const uint8_t> image) {
  Elf64_Ehdr h;
  if (!load(image, 0, &h) || !is_elf64_le(h)) return fail("not a 64-bit little-endian ELF image");
  if (h.e_shentsize != sizeof(Elf64_Shdr) || h.e_shnum == 0 || h.e_shnum > 1024)
    return fail("ELF image has " + std::to_string(h.e_shnum) + " section headers of " + std::to_string(h.e_shentsize) + " bytes");
  if (!inside(h.e_shoff, uint64_t(h.e_shnum) * sizeof(Elf64_Shdr), image.size())) return fail("ELF section headers lie outside the image");
  // Symbol values are virtual addresses; the first PT_LOAD says which address the image starts at.
  uint64_t load_bias = 0;
  bool have_load = false;
  for (uint32_t i = 0; i < h.e_phnum && i < kMaxProgramHeaders && !have_load; ++i) {
    Elf64_Phdr ph;
    if (h.e_phentsize != sizeof ph || !load(image, h.e_phoff + uint64_t(i) * sizeof ph, &ph)) break;
    if (ph.p_type == PT_LOAD) {
      load_bias = ph.p_vaddr - ph.p_offset;
      have_load = true;
    }
  }
  if (!have_load) return fail("ELF image has no PT_LOAD program header");
  for (uint32_t i = 0; i < h.e_shnum; ++i) {
    Elf64_Shdr sh;
    load(image, h.e_shoff + uint64_t(i) * sizeof sh, &sh);
    if (sh.sh_type != SHT_DYNSYM) continue;
    Elf64_Shdr strtab;
    if (sh.sh_link >= h.e_shnum || !load(image, h.e_shoff + uint64_t(sh.sh_link) * sizeof strtab, &strtab) ||
        strtab.sh_type != SHT_STRTAB)
      return fail("the dynamic symbol table's string table is not a string table");
    if (sh.sh_entsize != sizeof(Elf64_Sym) || !inside(sh.sh_offset, sh.sh_size, image.size()) ||
        !inside(strtab.sh_offset, strtab.sh_size, image.size()) || sh.sh_size / sizeof(Elf64_Sym) > 4096)
      return fail("the dynamic symbol table lies outside the image");
    std::vector<Symbol> out;
    for (uint64_t at = sh.sh_offset; at + sizeof(Elf64_Sym) <= sh.sh_offset + sh.sh_size; at += sizeof(Elf64_Sym)) {
      Elf64_Sym sym;
      load(image, at, &sym);
      if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF || sym.st_name == 0) continue;
      if (sym.st_name >= strtab.sh_size) return fail("a dynamic symbol's name lies outside its string table");
      const char* name = reinterpret_cast<const char*>(image.data() + strtab.sh_offset + sym.st_name);
      size_t len = strnlen(name, strtab.sh_size - sym.st_name);
      if (len == strtab.sh_size - sym.st_name || len > 128) return fail("a dynamic symbol's name is not terminated");
      uint64_t offset = sym.st_value - load_bias;
      if (offset >= image.size()) return fail("symbol " + std::string(name, len) + " points outside the image");
      out.push_back({std::string(name, len), offset});
    }
    return out;
  }
  return fail("ELF image has no dynamic symbol table");
}

}  // namespace cryo::elf
