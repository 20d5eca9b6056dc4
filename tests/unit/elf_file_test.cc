// ELF facts cryo reads itself: build-ids of files and the vdso's dynamic functions, on real ELF
// (this test binary, the running kernel's vdso) and on damaged copies.
#include "kernel/elf_file.h"

#include <elf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "kernel/vdso_text.h"
#include "unit/own_vdso.h"
#include "ptrace/registers.h"
#include "restore/host_vdso_check.h"

namespace cryo {
namespace {

std::vector<uint8_t> own_vdso() { return test::own_vdso().bytes; }

TEST(ElfFile, ReadsTheBuildIdOfARealExecutable) {
  int fd = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  struct stat st;
  ASSERT_EQ(::fstat(fd, &st), 0);
  std::string id = elf::build_id_of_fd(fd, uint64_t(st.st_size));
  ::close(fd);
  // GCC on Debian links with --build-id (SHA-1, 20 bytes).
  EXPECT_EQ(id.size(), 20u);
}

TEST(ElfFile, NoBuildIdInNonElfOrDamagedFiles) {
  char path[] = "/tmp/cryo-elf-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  // A header claiming far more program headers than the file holds.
  Elf64_Ehdr h{};
  std::memcpy(h.e_ident, ELFMAG, SELFMAG);
  h.e_ident[EI_CLASS] = ELFCLASS64;
  h.e_ident[EI_DATA] = ELFDATA2LSB;
  h.e_phentsize = sizeof(Elf64_Phdr);
  h.e_phnum = 200;
  h.e_phoff = sizeof h;
  ASSERT_EQ(::write(fd, &h, sizeof h), ssize_t(sizeof h));
  EXPECT_EQ(elf::build_id_of_fd(fd, sizeof h), "");
  // A note segment whose sizes run past its end.
  Elf64_Phdr ph{};
  ph.p_type = PT_NOTE;
  ph.p_offset = sizeof h + sizeof ph;
  ph.p_filesz = sizeof(Elf64_Nhdr);
  Elf64_Nhdr note{4, 0xffffff00u, NT_GNU_BUILD_ID};
  h.e_phnum = 1;
  ASSERT_EQ(::pwrite(fd, &h, sizeof h, 0), ssize_t(sizeof h));
  ASSERT_EQ(::pwrite(fd, &ph, sizeof ph, sizeof h), ssize_t(sizeof ph));
  ASSERT_EQ(::pwrite(fd, &note, sizeof note, sizeof h + sizeof ph), ssize_t(sizeof note));
  EXPECT_EQ(elf::build_id_of_fd(fd, sizeof h + sizeof ph + sizeof note), "");
  ::close(fd);
  EXPECT_EQ(elf::build_id_of_fd(-1, 100), "");
}

TEST(VdsoText, ParsesTheRunningKernelsVdso) {
  auto bytes = own_vdso();
  ASSERT_FALSE(bytes.empty());
  auto text = describe_vdso(bytes);
  ASSERT_TRUE(text) << text.error().message;
  bool clock_gettime = false;
  for (const auto& sym : text->symbols) {
    EXPECT_LT(sym.offset, bytes.size()) << sym.name;
    clock_gettime = clock_gettime || sym.name == "__vdso_clock_gettime";
  }
  EXPECT_TRUE(clock_gettime);
  EXPECT_FALSE(describe_vdso(std::span<const uint8_t>(bytes.data(), 64)));  // Cut short: the sections are gone.
}

// The dump's kernel had the same vdso with its functions 16 bytes further on: the pre-flight
// redirects them (a note, and the redirect); the same text, or text whose entry points all stayed,
// passes as it is; a function this kernel lacks is refused by name.
TEST(VdsoText, AVdsoWhoseFunctionsMovedIsRedirectedAndOneMissingIsRefused) {
  auto bytes = own_vdso();
  ASSERT_FALSE(bytes.empty());
  auto here = describe_vdso(bytes);
  ASSERT_TRUE(here);
  // Move every function in a copy: shift the dynamic symbols' values.
  std::vector<uint8_t> moved = test::with_functions_moved(bytes, 16);
  auto dumped = describe_vdso(moved);
  ASSERT_TRUE(dumped);
  ASSERT_EQ(dumped->symbols.size(), here->symbols.size());
  for (size_t i = 0; i < here->symbols.size(); ++i) EXPECT_EQ(dumped->symbols[i].offset, here->symbols[i].offset + 16);

  ImageSet set;
  auto* v = set.inventory.mutable_vdso();
  v->set_xxh3(dumped->xxh3);
  v->set_size(dumped->size);
  for (const auto& s : dumped->symbols) {
    auto* out = v->add_symbols();
    out->set_name(s.name);
    out->set_offset(s.offset);
  }
  restore::RestoreHostFacts host;
  host.vdso = *here;
  restore::HostCheck out;
  restore::check_vdso(set, host, &out);
  EXPECT_TRUE(out.problems.empty());
  ASSERT_EQ(out.notes.size(), 1u);
  EXPECT_NE(out.notes[0].find("__vdso_clock_gettime (at "), std::string::npos) << out.notes[0];
  EXPECT_NE(out.notes[0].find("entry points are redirected"), std::string::npos) << out.notes[0];
  EXPECT_TRUE(out.vdso_redirect.needed);
  EXPECT_EQ(out.vdso_redirect.old_symbols.size(), here->symbols.size());

  // The same vdso on both sides: nothing to say.
  v->set_xxh3(here->xxh3);
  for (int i = 0; i < v->symbols_size(); ++i) v->mutable_symbols(i)->set_offset(here->symbols[i].offset);
  out = {};
  restore::check_vdso(set, host, &out);
  EXPECT_TRUE(out.problems.empty() && out.notes.empty());
  EXPECT_FALSE(out.vdso_redirect.needed);
  // Other text with every entry point in place: a note only.
  v->set_xxh3(here->xxh3 ^ 1);
  restore::check_vdso(set, host, &out);
  EXPECT_TRUE(out.problems.empty());
  EXPECT_EQ(out.notes.size(), 1u);
  // A function this kernel lacks.
  v->mutable_symbols(0)->set_name("__vdso_gone");
  out = {};
  restore::check_vdso(set, host, &out);
  ASSERT_EQ(out.problems.size(), 1u);
  EXPECT_NE(out.problems[0].find("__vdso_gone is not in this kernel's vdso"), std::string::npos) << out.problems[0];
  EXPECT_FALSE(out.vdso_redirect.needed);
}

// A thread that was executing inside the old vdso cannot go on in the proxy: refused by name.
TEST(VdsoText, AThreadInsideTheVdsoIsRefusedWhenItMustBeRedirected) {
  auto bytes = own_vdso();
  auto here = describe_vdso(bytes);
  ASSERT_TRUE(here);
  ImageSet set;
  auto* v = set.inventory.mutable_vdso();
  v->set_xxh3(here->xxh3 ^ 1);
  v->set_size(here->size);
  for (const auto& s : here->symbols) {
    auto* out = v->add_symbols();
    out->set_name(s.name);
    out->set_offset(s.offset + 16);
  }
  ProcessImage process;
  process.entry.set_pid(1);
  auto* vma = process.mm.add_vmas();
  vma->set_start(0x7fff0000a000);
  vma->set_end(0x7fff0000a000 + here->size);
  vma->set_kind(image::VMA_VDSO);
  Registers regs;
  regs.gp.rip = 0x7fff0000a000 + 0x40;
  auto* thread = process.core.add_threads();
  thread->set_tid(7);
  thread->set_gpregs(registers_to_bytes(regs));
  set.processes.push_back(process);
  restore::RestoreHostFacts host;
  host.vdso = *here;
  restore::HostCheck out;
  restore::check_vdso(set, host, &out);
  ASSERT_EQ(out.problems.size(), 1u);
  EXPECT_NE(out.problems[0].find("thread 7 of pid 1 was executing inside the vdso (at 0x7fff0000a040)"), std::string::npos) << out.problems[0];
  EXPECT_FALSE(out.vdso_redirect.needed);
  // Elsewhere, it is redirected.
  regs.gp.rip = 0x400000;
  set.processes[0].core.mutable_threads(0)->set_gpregs(registers_to_bytes(regs));
  out = {};
  restore::check_vdso(set, host, &out);
  EXPECT_TRUE(out.problems.empty()) << out.problems[0];
  EXPECT_TRUE(out.vdso_redirect.needed);
}

}  // namespace
}  // namespace cryo
