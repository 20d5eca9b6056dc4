#include "dump/host_inventory.h"

#include <cpuid.h>
#include <sys/utsname.h>

#include "base/file_util.h"
#include "kernel/proc_text.h"
#include "kernel/tree_identity.h"
#include "kernel/vdso_text.h"
#include "kernel/xsave_layout.h"

namespace cryo::dump {

std::vector<std::string> parse_cpu_flags(std::string_view cpuinfo) {
  std::vector<std::string> flags;
  for (auto line : proc_text::lines(cpuinfo)) {
    if (!line.starts_with("flags")) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    for (auto word : proc_text::fields(line.substr(colon + 1))) flags.emplace_back(word);
    break;  // Every CPU lists the same flags.
  }
  return flags;
}

uint64_t read_xcr0() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
  // xgetbv faults unless the OS enabled XSAVE (CPUID.1:ECX.OSXSAVE, bit 27).
  if (!(ecx & (1u << 27))) return 0;
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

Result<> fill_host_facts(image::Inventory& inventory) {
  inventory.set_cryo_version(CRYO_VERSION);
  struct utsname uts;
  if (::uname(&uts) != 0) return fail_errno("uname");
  inventory.set_kernel_release(uts.release);
  inventory.set_arch(uts.machine);
  ASSIGN_OR_RETURN(std::string cpuinfo, read_file("/proc/cpuinfo"));
  for (auto& flag : parse_cpu_flags(cpuinfo)) inventory.add_cpu_flags(flag);
  XsaveLayout xsave = read_xsave_layout();
  inventory.set_xsave_features(xsave.xcr0);
  inventory.set_xsave_size(xsave.size);
  for (const auto& c : xsave.components) {
    auto* out = inventory.add_xsave_components();
    out->set_index(c.index);
    out->set_offset(c.offset);
    out->set_size(c.size);
  }
  ASSIGN_OR_RETURN(std::string boot_id, read_boot_id());
  inventory.set_boot_id(boot_id);
  return {};
}

}  // namespace cryo::dump
