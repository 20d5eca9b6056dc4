// A stopped task that cryo runs syscalls in, with a scratch area in its memory for the strings and
// structs those syscalls point to or answer into. Restore turns a seized placeholder into its
// process through a trampoline page (`syscall; int3`, then the scratch area) mapped where neither
// the placeholder nor the image has anything. Dump asks a frozen process for its state through a
// data-only scratch page (no code a thread could run into) and reads the answers back.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "base/error.h"
#include "ptrace/remote_syscalls.h"
#include "ptrace/tracee.h"

namespace cryo {

class RemoteTask {
 public:
  // Starts injecting through a `syscall` instruction of the placeholder's vdso.
  static Result<RemoteTask> start(Tracee& tracee);
  // Starts injecting into another thread of `leader`'s process, through the trampoline (and with the
  // scratch area) that `leader` installed in their shared memory.
  static Result<RemoteTask> join(Tracee& thread, const RemoteTask& leader);
  // Injects through `syscalls`, a guard the caller made for `tracee` (dump injects with a resume
  // frame, RemoteSyscalls::create_resumable).
  static RemoteTask adopt(Tracee& tracee, RemoteSyscalls syscalls) { return RemoteTask(tracee, std::move(syscalls)); }

  pid_t host_pid() const { return tracee_->tid(); }
  Tracee& tracee() { return *tracee_; }
  RemoteSyscalls& syscalls() { return *syscalls_; }

  // Maps the trampoline at `address` (size bytes, the first page holds the code) and switches to it.
  Result<> install_trampoline(uint64_t address, uint64_t size);
  uint64_t trampoline() const { return trampoline_; }
  uint64_t trampoline_size() const { return trampoline_size_; }

  // From now on every injected syscall ends at its syscall-exit stop instead of the trampoline's
  // int3 (two stops instead of one, but no SIGTRAP): before the first step that sets any signal
  // state of the process (handlers, pending signals, masks), which the int3's forced SIGTRAP would
  // change (ptrace/remote_syscalls.h).
  Result<> stop_trapping();
  // An error unless stop_trapping() was called: the signal steps check it.
  Result<> require_no_traps(const std::string& what) const;

  // Runs a syscall; a negative result is an error naming `what` ("mmap: Permission denied").
  Result<uint64_t> call(const std::string& what, long nr, std::array<uint64_t, 6> args = {});

  // Copies bytes into the scratch area and returns their address in the tracee. The area is reused
  // from its start after reset_scratch().
  Result<uint64_t> put(const void* data, size_t size);
  Result<uint64_t> put_string(const std::string& text) { return put(text.c_str(), text.size() + 1); }
  void reset_scratch() { scratch_used_ = 0; }

  // Maps a scratch area of `size` bytes anywhere in the tracee, readable and writable but not
  // executable, for a task without a trampoline; `what` names it in errors ("scratch page").
  // The task must unmap_scratch() it on every path: the tracee's memory map must not keep it.
  Result<uint64_t> map_scratch(uint64_t size, const std::string& what);
  Result<> unmap_scratch();
  // Where the scratch area starts (0: there is none), and its size.
  uint64_t scratch() const { return scratch_; }
  uint64_t scratch_size() const { return scratch_size_; }
  // The whole scratch area as the tracee's syscalls left it (process_vm_readv).
  Result<std::string> read_scratch();

  // Writes bytes into the tracee's memory (process_vm_writev).
  Result<> write_memory(uint64_t address, const void* data, size_t size);

  // Ends the visit: munmaps the trampoline from a syscall-exit stop, leaving `final_regs` and
  // `blocked_mask` for when the tracee is released (docs/design.md, "Kernel facts"). The tracee stays stopped.
  Result<> finish(const Registers& final_regs, uint64_t blocked_mask);
  // Ends the visit of a joined thread: it stays stopped with `final_regs` and `blocked_mask`, for
  // when it is released. The trampoline stays (the leader's finish() removes it).
  Result<> leave(const Registers& final_regs, uint64_t blocked_mask);

 private:
  RemoteTask(Tracee& tracee, RemoteSyscalls syscalls) : tracee_(&tracee), syscalls_(std::move(syscalls)) {}
  Tracee* tracee_;
  std::optional<RemoteSyscalls> syscalls_;
  uint64_t trampoline_ = 0;
  uint64_t trampoline_size_ = 0;
  uint64_t scratch_ = 0;  // After the trampoline's code, or a page of its own (map_scratch).
  uint64_t scratch_size_ = 0;
  std::string scratch_name_;
  uint64_t scratch_used_ = 0;
};

// The trampoline's first page holds `syscall; int3`; scratch space starts at this offset.
constexpr uint64_t kTrampolineCodeSize = 4096;

}  // namespace cryo
