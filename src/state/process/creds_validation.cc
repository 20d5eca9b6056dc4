// Pure, apart from the rest of creds.cc: the image fuzzer links it (tests/fuzz/CMakeLists.txt).
#include "base/hex.h"
#include "state/process/creds.h"

namespace cryo {
namespace {

constexpr uint64_t kAllCaps = (1ull << 41) - 1;  // CAP_LAST_CAP is 40 (CAP_CHECKPOINT_RESTORE).

}  // namespace

void validate_creds(const image::Creds& creds, const image::ProblemSink& problem) {
  if (creds.uids_size() != 4 || creds.gids_size() != 4) problem("creds need 4 uids and 4 gids (real, effective, saved, fs)");
  if (creds.groups_size() > kMaxGroups) problem(std::to_string(creds.groups_size()) + " supplementary groups is too many");
  for (uint64_t set : {creds.cap_inheritable(), creds.cap_permitted(), creds.cap_effective(), creds.cap_bounding(),
                       creds.cap_ambient()})
    if (set & ~kAllCaps) problem("a capability set " + hex(set) + " has bits beyond the last capability");
}

}  // namespace cryo
