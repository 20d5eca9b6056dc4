// Pure, apart from the rest of registers.cc: the image fuzzer links it (tests/fuzz/CMakeLists.txt).
#include <sys/user.h>

#include <cstring>

#include "base/hex.h"
#include "state/thread/registers.h"

namespace cryo {
namespace {

constexpr size_t kXsaveHeaderEnd = 512 + 64;  // Legacy FXSAVE area plus the XSAVE header.
constexpr size_t kMaxXstateSize = 1 << 20;

}  // namespace

void validate_registers(const image::ThreadCore& t, uint64_t xsave_features, const image::ProblemSink& problem) {
  if (t.gpregs().size() != sizeof(user_regs_struct))
    problem("general registers are " + std::to_string(t.gpregs().size()) + " bytes, expected " +
            std::to_string(sizeof(user_regs_struct)));
  if (t.xstate().size() < kXsaveHeaderEnd || t.xstate().size() > kMaxXstateSize) {
    problem("xstate area of " + std::to_string(t.xstate().size()) + " bytes is not a valid XSAVE area");
    return;
  }
  uint64_t xstate_bv = 0, xcomp_bv = 0;
  std::memcpy(&xstate_bv, t.xstate().data() + 512, sizeof xstate_bv);
  std::memcpy(&xcomp_bv, t.xstate().data() + 520, sizeof xcomp_bv);
  // ptrace hands out and takes the standard (uncompacted) format only.
  if (xcomp_bv != 0) problem("xstate is in the compacted format (XCOMP_BV " + hex(xcomp_bv) + ")");
  if (xstate_bv & ~xsave_features)
    problem("xstate holds components " + hex(xstate_bv) + " outside the image's XCR0 " + hex(xsave_features));
}

}  // namespace cryo
