// The inventory's description of the dumping host: cryo and kernel versions, architecture, CPU
// features and the xstate components registers were saved with, so restore can refuse a host
// that cannot run the image.
#pragma once

#include "base/error.h"
#include "inventory.pb.h"

namespace cryo::dump {

// Fills the host fields of an inventory from kernel/host_facts.h: cryo_version, kernel_release,
// arch, cpu_flags, the XSAVE features and layout, boot_id.
Result<> fill_host_facts(image::Inventory& inventory);

}  // namespace cryo::dump
