#include "kernel/xsave_layout.h"

#include <cpuid.h>

namespace cryo {

XsaveLayout read_xsave_layout() {
  XsaveLayout layout;
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return layout;
  // xgetbv faults unless the OS enabled XSAVE (CPUID.1:ECX.OSXSAVE, bit 27).
  if (!(ecx & (1u << 27))) return layout;
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  layout.xcr0 = (uint64_t(hi) << 32) | lo;
  __cpuid_count(0xd, 0, eax, ebx, ecx, edx);
  layout.size = ebx;
  for (uint32_t i = 2; i < 63; ++i) {
    if (!(layout.xcr0 & (uint64_t(1) << i))) continue;
    __cpuid_count(0xd, i, eax, ebx, ecx, edx);
    layout.components.push_back({i, ebx, eax});
  }
  return layout;
}

std::string xsave_component_name(uint32_t index) {
  switch (index) {
    case 0: return "x87";
    case 1: return "SSE";
    case 2: return "AVX";
    case 3: return "MPX bound registers";
    case 4: return "MPX bound config";
    case 5: return "AVX-512 opmask";
    case 6: return "AVX-512 ZMM_Hi256";
    case 7: return "AVX-512 Hi16_ZMM";
    case 9: return "PKU";
    case 17: return "AMX TILECFG";
    case 18: return "AMX TILEDATA";
    case 19: return "APX";
    default: return "XSAVE component " + std::to_string(index);
  }
}

}  // namespace cryo
