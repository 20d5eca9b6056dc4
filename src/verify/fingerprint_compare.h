// Compares the fingerprint of a process at the dump with the one read from its restored self,
// applying fingerprint_rules.h. Pure: no system state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fingerprint.pb.h"

namespace cryo::verify {

struct Difference {
  std::string subject;  // "tid 7", "map 0x400000-0x401000", "fd 3", "process"
  std::string file;
  std::string name;
  std::string dumped;    // "(absent)" when the field was not there
  std::string restored;
};

struct Comparison {
  std::vector<Difference> refused;   // Differences no rule allows: the restore must not go on.
  std::vector<Difference> awaiting;  // Differences of kAwaitingRestoreFix: tolerated, with a warning.
};

// The fingerprint of a process seen past a vdso redirect (restore/vdso_proxy.h): this kernel's
// [vvar], [vvar_vclock] and [vdso] are at a new address and a proxy holds the old [vdso] range
// [proxy_start, proxy_end), so neither side's vdso mappings, nor the proxy, are compared; on the
// `restored` side the proxy's size is taken off the totals that count it (status VmSize and VmLib,
// stat vsize). See fingerprint_rules.cc, "maps" "vdso redirect". The proxy itself is proven by the
// process running through it.
image::ProcessFingerprint past_vdso_redirect(const image::ProcessFingerprint& print, uint64_t proxy_start, uint64_t proxy_end,
                                             bool restored);

Comparison compare_fingerprints(const image::ProcessFingerprint& dumped, const image::ProcessFingerprint& restored);

// "pid 5 tid 7: status SigBlk was 0000000000000001, now 0000000000000000"
std::string describe(uint32_t pid, const Difference& d);

}  // namespace cryo::verify
