#include "dump/host_inventory.h"

#include "kernel/host_facts.h"

namespace cryo::dump {

Result<> fill_host_facts(image::Inventory& inventory) {
  inventory.set_cryo_version(CRYO_VERSION);
  ASSIGN_OR_RETURN(HostFacts host, read_host_facts());
  inventory.set_kernel_release(host.kernel_release);
  inventory.set_arch(host.arch);
  for (auto& flag : host.cpu_flags) inventory.add_cpu_flags(flag);
  inventory.set_xsave_features(host.xsave.xcr0);
  inventory.set_xsave_size(host.xsave.size);
  for (const auto& c : host.xsave.components) {
    auto* out = inventory.add_xsave_components();
    out->set_index(c.index);
    out->set_offset(c.offset);
    out->set_size(c.size);
  }
  // Restore tells "the same boot" (where files and pipes may still be the same) by this id.
  if (host.boot_id_error) return fail(*host.boot_id_error);
  inventory.set_boot_id(host.boot_id);
  return {};
}

}  // namespace cryo::dump
