// Pure, apart from the rest of mm_fields.cc: the image fuzzer links it (tests/fuzz/CMakeLists.txt).
#include <utility>

#include "base/hex.h"
#include "state/process/mm_fields.h"

namespace cryo {

void validate_mm_fields(const image::MmFields& mm, const image::ProblemSink& problem) {
  using image::is_clean_absolute_path;
  using image::is_user_address;
  const std::pair<const char*, uint64_t> fields[] = {
      {"start_code", mm.start_code()}, {"end_code", mm.end_code()},       {"start_data", mm.start_data()},
      {"end_data", mm.end_data()},     {"start_brk", mm.start_brk()},     {"brk", mm.brk()},
      {"start_stack", mm.start_stack()}, {"arg_start", mm.arg_start()},   {"arg_end", mm.arg_end()},
      {"env_start", mm.env_start()},   {"env_end", mm.env_end()},
  };
  for (const auto& [name, value] : fields)
    if (!is_user_address(value)) problem(std::string("mm field ") + name + " " + hex(value) + " is outside user space");
  // The pairs the kernel's PR_SET_MM_MAP insists on.
  if (mm.start_code() >= mm.end_code()) problem("mm: start_code is not below end_code");
  if (mm.start_data() > mm.end_data()) problem("mm: start_data is above end_data");
  if (mm.start_brk() > mm.brk()) problem("mm: start_brk is above brk");
  if (mm.arg_start() > mm.arg_end()) problem("mm: arg_start is above arg_end");
  if (mm.env_start() > mm.env_end()) problem("mm: env_start is above env_end");
  if (mm.auxv().size() % 16 != 0 || mm.auxv().size() > 4096)
    problem("mm: auxv of " + std::to_string(mm.auxv().size()) + " bytes is not a list of (type, value) pairs");
  if (!is_clean_absolute_path(mm.exe())) problem("executable path '" + mm.exe() + "' is not a clean absolute path");
}

}  // namespace cryo
