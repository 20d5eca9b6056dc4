#include "restore/host_cpu_check.h"

#include <set>
#include <string>

#include "base/hex.h"

namespace cryo::restore {
namespace {

std::string component_names(uint64_t bits) {
  std::string out;
  for (uint32_t i = 0; i < 64; ++i)
    if (bits & (uint64_t(1) << i)) out += (out.empty() ? "" : ", ") + xsave_component_name(i);
  return out;
}

// The registers are written back with PTRACE_SETREGSET(NT_X86_XSTATE) exactly as they were saved,
// in the standard format: the kernel takes only a buffer of its own size, and reads each component
// at this CPU's offset. So components must be enabled here, at the same offsets and sizes, and the
// whole area the same size.
void check_xsave(const image::Inventory& inv, const HostFacts& host, HostCheck* out) {
  uint64_t lacking = inv.xsave_features() & ~host.xsave.xcr0;
  if (lacking != 0) {
    out->problems.push_back("the image's registers were saved with XSAVE features " + hex(inv.xsave_features()) + ", this host enables " +
                            hex(host.xsave.xcr0) + ": this CPU lacks " + component_names(lacking));
    return;
  }
  for (const auto& saved : inv.xsave_components()) {
    for (const auto& mine : host.xsave.components) {
      if (mine.index != saved.index()) continue;
      if (mine.offset != saved.offset() || mine.size != saved.size())
        out->problems.push_back("XSAVE state of " + xsave_component_name(saved.index()) + " is at offset " + std::to_string(saved.offset()) +
                                " (" + std::to_string(saved.size()) + " bytes) in the image, " + std::to_string(mine.offset) + " (" +
                                std::to_string(mine.size) + " bytes) on this CPU");
    }
  }
  uint64_t extra = host.xsave.xcr0 & ~inv.xsave_features();
  bool size_known = inv.xsave_size() != 0 && host.xsave.size != 0;
  if (extra == 0 && (!size_known || inv.xsave_size() == host.xsave.size)) return;
  if (size_known && inv.xsave_size() != host.xsave.size)
    out->problems.push_back("this CPU's XSAVE area is " + std::to_string(host.xsave.size) + " bytes (it also enables " +
                            (extra ? component_names(extra) : std::string("other state")) + "), the image's " +
                            std::to_string(inv.xsave_size()) + ": cryo cannot widen saved registers yet");
  else
    out->notes.push_back("this CPU also enables XSAVE state the image's processes never used (" + component_names(extra) + "): not a problem");
}

}  // namespace

void check_cpu_and_kernel(const image::Inventory& inv, const HostFacts& host, HostCheck* out) {
  if (inv.arch() != host.arch) out->problems.push_back("the image is from a " + inv.arch() + " host, this one is " + host.arch);
  if (inv.kernel_release() != host.kernel_release)
    out->notes.push_back("the image was dumped on kernel " + inv.kernel_release() + ", this is " + host.kernel_release);
  std::string missing;
  std::set<std::string> dumped;
  std::set<std::string> here(host.cpu_flags.begin(), host.cpu_flags.end());
  for (const auto& flag : inv.cpu_flags()) {
    dumped.insert(flag);
    if (!here.count(flag)) missing += (missing.empty() ? "" : " ") + flag;
  }
  // Any of them may be in use: glibc and JITs pick code paths by CPUID once, at start.
  if (!missing.empty()) out->problems.push_back("this CPU lacks features the image's processes may use: " + missing);
  size_t extra = 0;
  for (const auto& flag : here) extra += !dumped.count(flag);
  if (extra != 0 && !dumped.empty())
    out->notes.push_back("this CPU has " + std::to_string(extra) + " features the dumping one did not: not a problem");
  check_xsave(inv, host, out);
}

}  // namespace cryo::restore
