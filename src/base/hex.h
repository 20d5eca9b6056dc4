// Addresses and masks in messages: "0x7f3a12c00000".
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace cryo {

inline std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace cryo
