// The vdso half of the host check: the image's [vvar]/[vvar_vclock]/[vdso] layout must be this
// kernel's (the vdso finds its data at a fixed distance), and, since glibc caches the addresses of
// the vdso's functions, every function the dumping kernel's vdso exported must be at the same
// offset in this kernel's. cryo does not redirect moved entry points (CRIU writes jumps there):
// a vdso whose functions moved is refused, naming them.
#pragma once

#include "restore/host_check.h"

namespace cryo::restore {

void check_vdso(const ImageSet& set, const HostFacts& host, HostCheck* out);

}  // namespace cryo::restore
