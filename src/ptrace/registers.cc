#include "ptrace/registers.h"

#include <sys/syscall.h>

#include <cstring>

namespace cryo {

bool Registers::in_restartable_syscall() const {
  auto orig = static_cast<int64_t>(gp.orig_rax);
  auto result = static_cast<int64_t>(gp.rax);
  return orig >= 0 && (result == kErestartSys || result == kErestartNoIntr || result == kErestartNoHand ||
                       result == kErestartRestartBlock);
}

Registers registers_for_resume(const Registers& stopped, ResumeContext context) {
  Registers out = stopped;
  if (stopped.in_restartable_syscall()) {
    // Back over the 2-byte `syscall` instruction so it runs again, as the kernel does when it
    // restarts a syscall after a signal without a handler.
    out.gp.rip -= 2;
    bool restart_block = static_cast<int64_t>(stopped.gp.rax) == kErestartRestartBlock;
    // restart_syscall() continues from the kernel's saved restart block, which only the same process
    // still has. A restored process re-executes the original syscall with its original arguments
    // (a relative sleep or poll timeout starts over).
    out.gp.rax = restart_block && context == ResumeContext::SameProcess ? SYS_restart_syscall : stopped.gp.orig_rax;
  }
  // No syscall in progress any more: nothing for the kernel to restart a second time.
  out.gp.orig_rax = static_cast<uint64_t>(-1);
  return out;
}

std::string registers_to_bytes(const Registers& regs) {
  return std::string(reinterpret_cast<const char*>(&regs.gp), sizeof regs.gp);
}

bool registers_from_bytes(const std::string& bytes, Registers* out) {
  if (bytes.size() != sizeof out->gp) return false;
  std::memcpy(&out->gp, bytes.data(), sizeof out->gp);
  return true;
}

}  // namespace cryo
