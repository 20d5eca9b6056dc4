// What this host is, as far as an image cares: the kernel release and architecture, the CPU's
// features and XSAVE layout, the boot, and where the kernel puts the vdso family. Read by one
// function for the three that need them: the dump records them in the inventory, the restore
// compares an image with them, and `cryo check` prints the kernel and the vdso layout.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "kernel/vdso_layout.h"
#include "kernel/xsave_layout.h"

namespace cryo {

struct HostFacts {
  std::string kernel_release;          // uname -r
  std::string arch;                    // uname -m
  std::vector<std::string> cpu_flags;  // The "flags" of /proc/cpuinfo, in its order.
  XsaveLayout xsave;                   // XCR0 and where each enabled component sits.
  std::string boot_id;                 // "" when it could not be read; boot_id_error says why.
  std::optional<Error> boot_id_error;
  // cryo's own [vvar], [vvar_vclock], [vdso] and [vsyscall], in address order: every process of
  // this kernel gets the same layout.
  std::vector<SpecialMapping> vdso_layout;
};

// Reads every fact now. uname, /proc/cpuinfo and /proc/self/maps must be readable; the boot id
// may not be (a restore then treats the host as another boot, a dump refuses).
Result<HostFacts> read_host_facts();

// The "flags" words of the first processor in /proc/cpuinfo text.
std::vector<std::string> parse_cpu_flags(std::string_view cpuinfo);

}  // namespace cryo
