// Registers of an x86_64 thread as ptrace sees them, and the arithmetic of interrupted syscalls.
#pragma once

#include <sys/user.h>

#include <cstdint>
#include <string>

namespace cryo {

// Kernel-internal return values of a syscall that was interrupted and may be restarted.
constexpr int64_t kErestartSys = -512;
constexpr int64_t kErestartNoIntr = -513;
constexpr int64_t kErestartNoHand = -514;
constexpr int64_t kErestartRestartBlock = -516;

struct Registers {
  user_regs_struct gp{};

  uint64_t ip() const { return gp.rip; }
  uint64_t sp() const { return gp.rsp; }
  // True when the thread was stopped inside a syscall that the kernel would restart on resume.
  bool in_restartable_syscall() const;
};

// How a thread that was stopped inside a syscall should resume.
enum class ResumeContext {
  SameProcess,  // Resuming the process that was stopped (dump --leave-running): its restart block is intact.
  Restored,     // A restored process: the kernel's restart block is gone, so re-execute the syscall itself.
};

// Returns registers that resume the thread the way the kernel would have after a signal without a
// handler: a restartable syscall is re-executed (rip back over the 2-byte syscall instruction, rax =
// the syscall number, or __NR_restart_syscall for ERESTART_RESTARTBLOCK in the same process), and
// orig_rax is -1 so nothing restarts twice. Other registers are returned unchanged.
Registers registers_for_resume(const Registers& stopped, ResumeContext context);

// Raw bytes of user_regs_struct, as stored in images.
std::string registers_to_bytes(const Registers& regs);
// Parses raw bytes; false when the size is not exactly sizeof(user_regs_struct).
bool registers_from_bytes(const std::string& bytes, Registers* out);

}  // namespace cryo
