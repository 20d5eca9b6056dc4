#include "ptrace/remote_task.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <cerrno>

#include "base/logging.h"

namespace cryo {

Result<RemoteTask> RemoteTask::start(Tracee& tracee) {
  ASSIGN_OR_RETURN(SyscallSite site, find_syscall_site(tracee.tid()));
  ASSIGN_OR_RETURN(RemoteSyscalls syscalls, RemoteSyscalls::create(tracee, site));
  return RemoteTask(tracee, std::move(syscalls));
}

Result<RemoteTask> RemoteTask::join(Tracee& thread, const RemoteTask& leader) {
  if (leader.trampoline_ == 0) return fail("tid " + std::to_string(thread.tid()) + ": the leader has no trampoline to share");
  ASSIGN_OR_RETURN(RemoteSyscalls syscalls, RemoteSyscalls::create(thread, {leader.trampoline_}));
  RemoteTask task(thread, std::move(syscalls));
  task.trampoline_ = leader.trampoline_;
  task.trampoline_size_ = leader.trampoline_size_;
  task.scratch_ = leader.scratch_;
  task.scratch_size_ = leader.scratch_size_;
  return task;
}

Result<uint64_t> RemoteTask::call(const std::string& what, long nr, std::array<uint64_t, 6> args) {
  ASSIGN_OR_RETURN(int64_t result, syscalls_->raw(nr, args));
  if (result < 0 && result > -4096) return fail(errno_error(what, static_cast<int>(-result)));
  return static_cast<uint64_t>(result);
}

Result<> RemoteTask::install_trampoline(uint64_t address, uint64_t size) {
  ASSIGN_OR_RETURN(uint64_t got, call("mmap trampoline", SYS_mmap,
                                      {address, size, PROT_READ | PROT_WRITE | PROT_EXEC,
                                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, static_cast<uint64_t>(-1), 0}));
  if (got != address) return fail("mmap trampoline: the kernel placed it at another address");
  trampoline_ = address;
  trampoline_size_ = size;
  scratch_ = address + kTrampolineCodeSize;
  scratch_size_ = size > kTrampolineCodeSize ? size - kTrampolineCodeSize : 0;
  scratch_name_ = "trampoline scratch area";
  // syscall (0f 05); int3 (cc): the int3 stops the tracee right after the syscall, so PTRACE_CONT
  // and one stop per syscall are enough, but only until stop_trapping() (ptrace/remote_syscalls.h).
  const unsigned char code[] = {0x0f, 0x05, 0xcc};
  RETURN_IF_ERROR(write_memory(address, code, sizeof code));
  RETURN_IF_ERROR(syscalls_->use_site({address, true}));
  return {};
}

Result<> RemoteTask::stop_trapping() {
  if (!syscalls_->traps()) return {};
  return syscalls_->use_site({trampoline_, false});
}

Result<> RemoteTask::require_no_traps(const std::string& what) const {
  if (syscalls_->traps())
    return fail("internal error: " + what + " set while injected syscalls still end in an int3, whose SIGTRAP would change it");
  return {};
}

Result<uint64_t> RemoteTask::put(const void* data, size_t size) {
  uint64_t offset = (scratch_used_ + 15) & ~uint64_t(15);
  if (scratch_ == 0 || offset + size > scratch_size_)
    return fail("scratch area of the trampoline is too small for " + std::to_string(size) + " bytes");
  RETURN_IF_ERROR(write_memory(scratch_ + offset, data, size));
  scratch_used_ = offset + size;
  return scratch_ + offset;
}

Result<uint64_t> RemoteTask::map_scratch(uint64_t size, const std::string& what) {
  if (scratch_ != 0) return fail("internal error: " + what + " mapped while the task has a scratch area");
  ASSIGN_OR_RETURN(uint64_t got, syscalls_->call("mmap(" + what + ")", SYS_mmap,
                                                 {0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                                                  static_cast<uint64_t>(-1), 0}));
  scratch_ = got;
  scratch_size_ = size;
  scratch_name_ = what;
  scratch_used_ = 0;
  return got;
}

Result<> RemoteTask::unmap_scratch() {
  if (scratch_ == 0 || trampoline_ != 0) return fail("internal error: no scratch area of its own to unmap");
  RETURN_IF_ERROR(syscalls_->call("munmap(" + scratch_name_ + ")", SYS_munmap, {scratch_, scratch_size_}));
  scratch_ = 0;
  scratch_size_ = 0;
  return {};
}

Result<std::string> RemoteTask::read_scratch() {
  if (scratch_ == 0) return fail("internal error: no scratch area to read");
  std::string bytes(scratch_size_, '\0');
  iovec local{bytes.data(), bytes.size()};
  iovec remote{reinterpret_cast<void*>(scratch_), bytes.size()};
  if (::process_vm_readv(host_pid(), &local, 1, &remote, 1, 0) != static_cast<ssize_t>(bytes.size()))
    return fail(errno_error("pid " + std::to_string(host_pid()) + ": process_vm_readv(" + scratch_name_ + ")"));
  return bytes;
}

Result<> RemoteTask::write_memory(uint64_t address, const void* data, size_t size) {
  iovec local{const_cast<void*>(data), size};
  iovec remote{reinterpret_cast<void*>(address), size};
  ssize_t n = ::process_vm_writev(host_pid(), &local, 1, &remote, 1, 0);
  if (n < 0) return fail_errno("process_vm_writev");
  if (static_cast<size_t>(n) != size) return fail("process_vm_writev: short write");
  return {};
}

Result<> RemoteTask::finish(const Registers& final_regs, uint64_t blocked_mask) {
  // Without the int3 the syscall ends at a syscall-exit stop, where the registers are replaced
  // before the tracee could return into the page that was just unmapped.
  RETURN_IF_ERROR(stop_trapping());
  ASSIGN_OR_RETURN(int64_t result, syscalls_->raw(SYS_munmap, {trampoline_, trampoline_size_}));
  if (result != 0) return fail(errno_error("munmap trampoline", static_cast<int>(-result)));
  return leave(final_regs, blocked_mask);
}

Result<> RemoteTask::leave(const Registers& final_regs, uint64_t blocked_mask) {
  syscalls_->set_registers_to_restore(final_regs);
  syscalls_->set_sigmask_to_restore(blocked_mask);
  // The guard would set them too, but only log a failure; setting them here reports it.
  RETURN_IF_ERROR_CTX(tracee_->set_registers(final_regs), "final registers");
  RETURN_IF_ERROR_CTX(tracee_->set_sigmask(blocked_mask), "blocked signals");
  syscalls_.reset();
  return {};
}

}  // namespace cryo
