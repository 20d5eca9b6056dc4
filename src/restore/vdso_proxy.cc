#include "restore/vdso_proxy.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "base/hex.h"

namespace cryo::restore {
namespace {

constexpr uint8_t kInt3 = 0xcc;
constexpr uint64_t kNearJumpSize = 5;  // jmp rel32

// Old entry points by offset, each with the names that share it (aliases such as clock_gettime and
// __vdso_clock_gettime are one function).
std::map<uint64_t, std::vector<std::string>> entry_points(const std::vector<elf::Symbol>& symbols) {
  std::map<uint64_t, std::vector<std::string>> out;
  for (const auto& s : symbols) out[s.offset].push_back(s.name);
  return out;
}

std::map<std::string, uint64_t> by_name(const std::vector<elf::Symbol>& symbols) {
  std::map<std::string, uint64_t> out;
  for (const auto& s : symbols) out.emplace(s.name, s.offset);
  return out;
}

// The one new offset all names of an old entry point lead to, or a problem.
std::string new_offset_of(const std::vector<std::string>& names, const std::map<std::string, uint64_t>& here, uint64_t* offset) {
  bool found = false;
  for (const auto& name : names) {
    auto it = here.find(name);
    if (it == here.end()) return name + " is not in this kernel's vdso";
    if (found && it->second != *offset) return names[0] + " and " + name + " are one function in the image's vdso and two in this kernel's";
    *offset = it->second;
    found = true;
  }
  return "";
}

void write_jump(std::vector<uint8_t>& out, uint64_t at, uint64_t from_address, uint64_t to) {
  int64_t rel = static_cast<int64_t>(to - (from_address + kNearJumpSize));
  if (rel >= INT32_MIN && rel <= INT32_MAX) {
    int32_t rel32 = static_cast<int32_t>(rel);
    out[at] = 0xe9;
    std::memcpy(&out[at + 1], &rel32, 4);
    return;
  }
  const uint8_t movabs_r11[2] = {0x49, 0xbb}, jmp_r11[3] = {0x41, 0xff, 0xe3};
  std::memcpy(&out[at], movabs_r11, 2);
  std::memcpy(&out[at + 2], &to, 8);
  std::memcpy(&out[at + 10], jmp_r11, 3);
}

}  // namespace

std::vector<std::string> redirect_problems(const std::vector<elf::Symbol>& old_symbols, uint64_t old_size,
                                           const std::vector<elf::Symbol>& new_symbols) {
  std::vector<std::string> problems;
  auto here = by_name(new_symbols);
  auto entries = entry_points(old_symbols);
  for (auto it = entries.begin(); it != entries.end(); ++it) {
    uint64_t offset = 0;
    std::string missing = new_offset_of(it->second, here, &offset);
    if (!missing.empty()) problems.push_back(missing);
    auto next = std::next(it);
    uint64_t room = (next == entries.end() ? old_size : next->first) - std::min(it->first, old_size);
    if (it->first >= old_size || room < kLongJumpSize)
      problems.push_back(it->second[0] + " at " + hex(it->first) + " leaves no room for a jump (" + std::to_string(room) + " bytes)");
  }
  return problems;
}

Result<std::vector<uint8_t>> build_vdso_proxy(std::span<const uint8_t> old_text, uint64_t size,
                                              const std::vector<elf::Symbol>& old_symbols,
                                              const std::vector<elf::Symbol>& new_symbols, uint64_t proxy_base,
                                              uint64_t new_base) {
  auto problems = redirect_problems(old_symbols, size, new_symbols);
  if (!problems.empty()) return fail("the image's vdso cannot be redirected to this kernel's: " + problems[0]);
  std::vector<uint8_t> out(size, kInt3);
  if (old_text.size() == size) std::copy(old_text.begin(), old_text.end(), out.begin());
  auto here = by_name(new_symbols);
  for (const auto& [offset, names] : entry_points(old_symbols)) {
    uint64_t target = here.at(names[0]);
    write_jump(out, offset, proxy_base + offset, new_base + target);
  }
  return out;
}

uint64_t jump_target(std::span<const uint8_t> proxy, uint64_t proxy_base, uint64_t at) {
  if (at < proxy_base || at - proxy_base >= proxy.size()) return 0;
  uint64_t i = at - proxy_base;
  if (proxy[i] == 0xe9 && i + kNearJumpSize <= proxy.size()) {
    int32_t rel32;
    std::memcpy(&rel32, &proxy[i + 1], 4);
    return at + kNearJumpSize + static_cast<int64_t>(rel32);
  }
  if (i + kLongJumpSize <= proxy.size() && proxy[i] == 0x49 && proxy[i + 1] == 0xbb && proxy[i + 10] == 0x41 &&
      proxy[i + 11] == 0xff && proxy[i + 12] == 0xe3) {
    uint64_t to;
    std::memcpy(&to, &proxy[i + 2], 8);
    return to;
  }
  return 0;
}

}  // namespace cryo::restore
