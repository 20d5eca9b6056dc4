// The vdso half of the host check. glibc caches the addresses of the vdso's functions, so a process
// needs them where they were. With this kernel's vdso the same as the dumping kernel's (same text,
// or every function at the same offset, and the same [vvar]/[vvar_vclock]/[vdso] layout) the vdso
// simply moves to where the image had it. Otherwise every function the old vdso exported must exist
// here, and restore redirects the old entry points to them (vdso_proxy.h); a function missing here,
// or a thread that was executing inside the old vdso, is refused by name. An image from before the
// vdso's symbols were recorded can only be compared by layout.
#pragma once

#include "restore/host_check.h"

namespace cryo::restore {

void check_vdso(const ImageSet& set, const RestoreHostFacts& host, HostCheck* out);

}  // namespace cryo::restore
