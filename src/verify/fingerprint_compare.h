// Compares the fingerprint of a process at the dump with the one read from its restored self,
// applying fingerprint_rules.h. Pure: no system state.
#pragma once

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

Comparison compare_fingerprints(const image::ProcessFingerprint& dumped, const image::ProcessFingerprint& restored);

// "pid 5 tid 7: status SigBlk was 0000000000000001, now 0000000000000000"
std::string describe(uint32_t pid, const Difference& d);

}  // namespace cryo::verify
