#include "kernel/vdso_text.h"

#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstring>

#include "base/file_util.h"

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
    iovec local{bytes.data(), bytes.size()}, remote{reinterpret_cast<void*>(start), bytes.size()};
    ssize_t n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n < 0) return fail_errno("process_vm_readv(" + std::to_string(pid) + ", [vdso])");
    if (size_t(n) != bytes.size()) return fail("process_vm_readv(" + std::to_string(pid) + ", [vdso]) read only " + std::to_string(n) + " bytes");
  }
  auto text = describe_vdso(bytes);
  if (!text) return fail(text.error().context("[vdso] of pid " + std::to_string(pid)));
  return text;
}

}  // namespace cryo
