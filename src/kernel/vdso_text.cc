#include "kernel/vdso_text.h"

#include <unistd.h>
#include <xxhash.h>

#include <cstring>

#include "base/file_util.h"
#include "kernel/process_memory.h"

namespace cryo {

Result<VdsoText> describe_vdso(std::span<const uint8_t> bytes) {
  VdsoText text;
  text.size = bytes.size();
  text.xxh3 = XXH3_64bits(bytes.data(), bytes.size());
  ASSIGN_OR_RETURN(text.symbols, elf::dynamic_functions(bytes));
  text.bytes.assign(bytes.begin(), bytes.end());
  return text;
}

Result<VdsoText> read_vdso_text(pid_t pid, uint64_t start, uint64_t end) {
  // The vdso is a few pages; anything larger is not one.
  if (end <= start || end - start > (1 << 20)) return fail("[vdso] mapping of " + std::to_string(end - start) + " bytes");
  std::vector<uint8_t> bytes(end - start);
  if (pid == 0) {
    std::memcpy(bytes.data(), reinterpret_cast<const void*>(start), bytes.size());
  } else {
    RETURN_IF_ERROR(read_process_memory(pid, start, bytes.data(), bytes.size(), "[vdso]"));
  }
  auto text = describe_vdso(bytes);
  if (!text) return fail(text.error().context("[vdso] of pid " + std::to_string(pid)));
  return text;
}

}  // namespace cryo
