// Pure, apart from the rest of rseq.cc: the image fuzzer links it (tests/fuzz/CMakeLists.txt).
#include "base/hex.h"
#include "state/thread/rseq.h"

namespace cryo {

void validate_rseq(const image::ThreadCore& t, const image::ProblemSink& problem) {
  if (t.rseq().address() == 0) return;
  if (t.rseq().length() < 32 || t.rseq().address() % 32 != 0 || !image::is_user_address(t.rseq().address()))
    problem("rseq area " + hex(t.rseq().address()) + " of " + std::to_string(t.rseq().length()) + " bytes is not a valid registration");
}

}  // namespace cryo
