// How this CPU lays out the XSAVE area that ptrace's NT_X86_XSTATE reads and writes (the standard,
// uncompacted format): which components the OS enabled (XCR0), the size they need, and where each
// one sits. Two hosts can restore each other's register state only where these agree.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cryo {

struct XsaveComponent {
  uint32_t index = 0;
  uint32_t offset = 0;
  uint32_t size = 0;
  bool operator==(const XsaveComponent&) const = default;
};

struct XsaveLayout {
  uint64_t xcr0 = 0;     // 0 when the CPU or OS has no XSAVE.
  uint32_t size = 0;     // CPUID.(0xD,0).EBX: bytes for the components enabled in XCR0.
  std::vector<XsaveComponent> components;  // Every enabled component from 2 (AVX) up.
};

XsaveLayout read_xsave_layout();

// "AVX-512 (opmask)" for component 5: for messages.
std::string xsave_component_name(uint32_t index);

}  // namespace cryo
