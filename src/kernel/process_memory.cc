#include "kernel/process_memory.h"

#include <sys/uio.h>

namespace cryo {

Result<> read_process_memory(pid_t pid, uint64_t address, void* out, size_t len, const std::string& what) {
  iovec local{out, len};
  iovec remote{reinterpret_cast<void*>(address), len};
  ssize_t got = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
  std::string call = "process_vm_readv(" + std::to_string(pid) + ", " + what + ")";
  if (got < 0) return fail_errno(call);
  if (static_cast<size_t>(got) != len)
    return fail(call + " read only " + std::to_string(got) + " of " + std::to_string(len) + " bytes");
  return {};
}

}  // namespace cryo
