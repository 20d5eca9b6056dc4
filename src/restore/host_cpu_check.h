// The CPU and kernel half of the host check: what the image's processes could have used (CPU flags,
// XSAVE components and their layout) against what this host offers. A newer CPU is fine; each
// difference says whether it stops the restore.
#pragma once

#include "inventory.pb.h"
#include "restore/host_check.h"

namespace cryo::restore {

void check_cpu_and_kernel(const image::Inventory& inventory, const HostFacts& host, HostCheck* out);

}  // namespace cryo::restore
