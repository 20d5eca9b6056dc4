// The inventory's description of the dumping host: cryo and kernel versions, architecture, CPU
// features and the xstate components registers were saved with, so restore can refuse a host
// that cannot run the image.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "inventory.pb.h"

namespace cryo::dump {

// The "flags" words of the first processor in /proc/cpuinfo text.
std::vector<std::string> parse_cpu_flags(std::string_view cpuinfo);

// XCR0 (xgetbv 0): the xstate components the OS enabled; 0 when the CPU has no XSAVE.
uint64_t read_xcr0();

// Fills the host fields of an inventory: cryo_version, kernel_release, arch, cpu_flags, the XSAVE
// features and layout, boot_id.
Result<> fill_host_facts(image::Inventory& inventory);

}  // namespace cryo::dump
