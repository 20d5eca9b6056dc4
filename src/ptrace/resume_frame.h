// A way back for a thread whose tracer dies while it runs injected code.
//
// When cryo dies (SIGKILL cannot be caught) the kernel detaches every tracee, which then runs on
// from whatever its registers say. If they point at an injected syscall, the thread used to run on
// into the code that follows it and die. Instead, each injected call starts at a `syscall` of the
// vdso that is followed only by register clearing and `ret`, with the stack pointer at a signal
// frame written below the thread's red zone. The frame's return address is a `mov $15,%rax;
// syscall` (rt_sigreturn: glibc's and musl's __restore_rt), so a thread left alone returns through
// rt_sigreturn to its own registers, FPU state and signal mask, exactly as from a signal handler.
// While cryo lives, it stops the thread at every syscall exit and never lets it reach the `ret`.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "base/error.h"
#include "ptrace/registers.h"

namespace cryo {

// The two pieces of code of a process that a resume frame needs.
struct ResumePath {
  uint64_t syscall_site = 0;  // `syscall` in [vdso], then only `xor reg,reg` and `ret`.
  uint64_t sigreturn = 0;     // `mov $15,%rax; syscall` in an executable mapping.
};

// Finds both in the process, or nullopt when it has no such code (a static binary without signal
// handling, an unusual vdso): injection then works as before, without the way back.
Result<std::optional<ResumePath>> find_resume_path(pid_t pid);

// Offset in a vdso image of a `syscall` followed only by `xor reg,reg` and `ret`, preceded by
// `mov $imm32,%eax` (so it is a real instruction, not bytes inside another one); nullopt if none.
std::optional<size_t> find_clean_syscall(const std::string& code);

// A signal frame that resumes `regs` (already adjusted with registers_for_resume), `xstate` (as
// PTRACE_GETREGSET NT_X86_XSTATE returns it) and `mask` when the thread runs `rt_sigreturn` with its
// stack pointer at `address` + 8, that is after a `ret` from `address`. The first 8 bytes are the
// return address `sigreturn`. `address` must be 64-byte aligned, so the FPU area inside is too.
std::string build_resume_frame(uint64_t address, uint64_t sigreturn, const Registers& regs, const std::string& xstate,
                               uint64_t mask);
// Bytes build_resume_frame needs for an xstate area of `xstate_size` bytes.
uint64_t resume_frame_size(size_t xstate_size);

// Writes the frame for a stopped thread below its red zone and returns the stack pointer to inject
// with. An error (the stack has no room, say) leaves the thread untouched.
Result<uint64_t> write_resume_frame(pid_t tid, const ResumePath& path, const Registers& saved, const std::string& xstate,
                                    uint64_t mask);

}  // namespace cryo
