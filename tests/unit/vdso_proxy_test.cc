// The vdso redirect (restore/vdso_proxy.h) on the running kernel's real vdso: a copy whose functions
// moved is parsed and redirected, jumps are decoded back to their targets, and a proxy made of the
// vdso's own bytes, mapped at a fresh address, is called through: clock_gettime works through it.
#include "restore/vdso_proxy.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <time.h>

#include <cstring>
#include <fstream>
#include <string>

#include "kernel/vdso_text.h"
#include "unit/own_vdso.h"

namespace cryo::restore {
namespace {

using test::own_vdso;
using test::OwnVdso;
using test::with_functions_moved;

uint64_t offset_of(const std::vector<elf::Symbol>& symbols, const std::string& name) {
  for (const auto& s : symbols)
    if (s.name == name) return s.offset;
  return UINT64_MAX;
}

TEST(VdsoProxy, EveryOldEntryPointJumpsToTheMovedFunctionOfItsName) {
  OwnVdso vdso = own_vdso();
  ASSERT_FALSE(vdso.bytes.empty());
  auto old_text = describe_vdso(vdso.bytes);
  auto moved = describe_vdso(with_functions_moved(vdso.bytes, 32));
  ASSERT_TRUE(old_text && moved);
  EXPECT_TRUE(redirect_problems(old_text->symbols, vdso.bytes.size(), moved->symbols).empty());
  // Far apart (a long jump) and near (jmp rel32).
  for (uint64_t new_base : std::vector<uint64_t>{0x10000, vdso.base - (64ull << 20)}) {
    const uint64_t proxy_base = vdso.base;
    auto proxy = build_vdso_proxy(vdso.bytes, vdso.bytes.size(), old_text->symbols, moved->symbols, proxy_base, new_base);
    ASSERT_TRUE(proxy) << proxy.error().message;
    ASSERT_EQ(proxy->size(), vdso.bytes.size());
    for (const auto& sym : old_text->symbols)
      EXPECT_EQ(jump_target(*proxy, proxy_base, proxy_base + sym.offset), new_base + offset_of(moved->symbols, sym.name)) << sym.name;
    // The ELF header is the old vdso's: a program parsing AT_SYSINFO_EHDR later finds the old symbols.
    EXPECT_EQ(std::memcmp(proxy->data(), vdso.bytes.data(), 64), 0);
  }
}

TEST(VdsoProxy, RefusesNamingAMissingFunctionOrEntryPointsTooClose) {
  std::vector<elf::Symbol> old_symbols = {{"__vdso_time", 0x100}, {"time", 0x100}, {"__vdso_getcpu", 0x140}};
  std::vector<elf::Symbol> here = {{"__vdso_time", 0x200}, {"time", 0x200}};
  auto problems = redirect_problems(old_symbols, 0x1000, here);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("__vdso_getcpu is not in this kernel's vdso"), std::string::npos) << problems[0];
  here.push_back({"__vdso_getcpu", 0x300});
  EXPECT_TRUE(redirect_problems(old_symbols, 0x1000, here).empty());
  // Two entry points 8 bytes apart: a long jump would overwrite the second.
  old_symbols.push_back({"__vdso_clock_getres", 0x148});
  here.push_back({"__vdso_clock_getres", 0x400});
  problems = redirect_problems(old_symbols, 0x1000, here);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("__vdso_getcpu at 0x140 leaves no room"), std::string::npos) << problems[0];
  EXPECT_FALSE(build_vdso_proxy({}, 0x1000, old_symbols, here, 0x7f0000000000, 0x10000));
  // An entry point at the very end of the old vdso.
  problems = redirect_problems({{"f", 0xffa}}, 0x1000, {{"f", 0}});
  ASSERT_EQ(problems.size(), 1u);
  // Aliases that became two functions.
  problems = redirect_problems({{"time", 0x10}, {"__vdso_time", 0x10}}, 0x1000, {{"time", 0x10}, {"__vdso_time", 0x40}});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("are one function in the image's vdso and two in this kernel's"), std::string::npos) << problems[0];
}

// The real thing: the running vdso's bytes mapped at another address as a proxy whose jumps lead to
// the running vdso; __vdso_clock_gettime called at the proxy's entry point gives the time.
TEST(VdsoProxy, AProcessCallingTheOldEntryPointRunsThisKernelsFunction) {
  OwnVdso vdso = own_vdso();
  auto text = describe_vdso(vdso.bytes);
  ASSERT_TRUE(text);
  void* area = ::mmap(nullptr, vdso.bytes.size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(area, MAP_FAILED);
  uint64_t proxy_base = reinterpret_cast<uint64_t>(area);
  auto proxy = build_vdso_proxy(vdso.bytes, vdso.bytes.size(), text->symbols, text->symbols, proxy_base, vdso.base);
  ASSERT_TRUE(proxy) << proxy.error().message;
  std::memcpy(area, proxy->data(), proxy->size());
  ASSERT_EQ(::mprotect(area, vdso.bytes.size(), PROT_READ | PROT_EXEC), 0);
  uint64_t entry = offset_of(text->symbols, "__vdso_clock_gettime");
  ASSERT_NE(entry, UINT64_MAX);
  using ClockGettime = int (*)(clockid_t, timespec*);
  auto through_proxy = reinterpret_cast<ClockGettime>(proxy_base + entry);
  timespec before{}, via{}, after{};
  ::clock_gettime(CLOCK_MONOTONIC, &before);
  ASSERT_EQ(through_proxy(CLOCK_MONOTONIC, &via), 0);
  ::clock_gettime(CLOCK_MONOTONIC, &after);
  auto ns = [](const timespec& t) { return t.tv_sec * 1000000000LL + t.tv_nsec; };
  EXPECT_LE(ns(before), ns(via));
  EXPECT_LE(ns(via), ns(after));
  ::munmap(area, vdso.bytes.size());
}

}  // namespace
}  // namespace cryo::restore
