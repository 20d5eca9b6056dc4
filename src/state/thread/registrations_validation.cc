// Pure, apart from the rest of registrations.cc: the image fuzzer links it (tests/fuzz/CMakeLists.txt).
#include "base/hex.h"
#include "state/thread/registrations.h"

namespace cryo {

void validate_registrations(const image::ThreadCore& t, const image::ProblemSink& problem) {
  using image::is_user_address;
  if (t.robust_list() != 0 && (t.robust_list_len() != 24 || !is_user_address(t.robust_list())))
    problem("robust list head " + hex(t.robust_list()) + " (length " + std::to_string(t.robust_list_len()) + ") is invalid");
  if (t.clear_child_tid() != 0 && !is_user_address(t.clear_child_tid()))
    problem("clear_child_tid " + hex(t.clear_child_tid()) + " is outside user space");
}

}  // namespace cryo
