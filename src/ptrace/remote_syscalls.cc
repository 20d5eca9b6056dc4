#include "ptrace/remote_syscalls.h"

#include <sched.h>
#include <signal.h>
#include <sys/ptrace.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <vector>

#include "base/fault_injection.h"
#include "base/file_util.h"
#include "base/interrupt.h"
#include "base/hex.h"
#include "base/logging.h"
#include "kernel/proc_stat.h"
#include "kernel/process_memory.h"
#include "ptrace/resume_frame.h"

namespace cryo {
namespace {

// Every signal but SIGKILL and SIGSTOP, which cannot be blocked anyway.
constexpr uint64_t kAllSignals = ~0ull & ~(1ull << (SIGKILL - 1)) & ~(1ull << (SIGSTOP - 1));

// A `syscall` (0f 05) anywhere in the readable executable mappings of `pid`, for a process without
// a [vdso] (valgrind's tools unmap it, and so may a sandbox). Any such pair of bytes will do, even
// inside a longer instruction: the thread is sent to its address, runs the two bytes as a syscall
// and stops at the syscall's exit, never running what follows.
Result<SyscallSite> find_syscall_in_text(pid_t pid, const std::string& maps) {
  std::istringstream lines(maps);
  std::string line;
  std::vector<unsigned char> code;
  while (std::getline(lines, line)) {
    uint64_t start = 0, end = 0;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %4s", &start, &end, perms) != 3) continue;
    if (perms[0] != 'r' || perms[2] != 'x' || end <= start) continue;
    // Searched a page at a time: a text mapping can be large, and the first page usually has one.
    for (uint64_t at = start; at < end; at += 4096) {
      uint64_t size = std::min<uint64_t>(end - at, 4096 + 1);
      code.resize(size);
      if (!read_process_memory(pid, at, code.data(), code.size(), "text")) break;
      for (size_t i = 0; i + 2 <= code.size(); ++i)
        if (code[i] == 0x0f && code[i + 1] == 0x05) return SyscallSite{at + i, false};
    }
  }
  return fail(make_error("pid " + std::to_string(pid) + " has no [vdso] and no syscall instruction in its executable mappings, which cryo cannot dump")
                  .with_hint("cryo runs its syscalls in the process through one of these"));
}

}  // namespace

Result<SyscallSite> find_syscall_site(pid_t pid) {
  ASSIGN_OR_RETURN(std::string maps, read_file("/proc/" + std::to_string(pid) + "/maps"));
  std::istringstream lines(maps);
  std::string line;
  uint64_t start = 0, end = 0;
  while (std::getline(lines, line)) {
    if (!line.ends_with("[vdso]")) continue;
    std::sscanf(line.c_str(), "%lx-%lx", &start, &end);
    break;
  }
  if (start == 0 || end <= start || end - start > (1u << 20)) return find_syscall_in_text(pid, maps);
  std::vector<unsigned char> code(end - start);
  RETURN_IF_ERROR(read_process_memory(pid, start, code.data(), code.size(), "[vdso]"));
  // The vdso's syscall fallbacks read `mov $nr, %eax; syscall` (b8 nn nn 00 00 0f 05).
  for (size_t i = 0; i + 7 <= code.size(); ++i) {
    if (code[i] == 0xb8 && code[i + 3] == 0 && code[i + 4] == 0 && code[i + 5] == 0x0f && code[i + 6] == 0x05)
      return SyscallSite{start + i + 5, false};
  }
  return find_syscall_in_text(pid, maps);
}

RemoteSyscalls::RemoteSyscalls(Tracee& tracee, SyscallSite site, Registers saved, uint64_t mask)
    : tracee_(&tracee),
      site_(site),
      saved_(saved),
      restore_regs_(registers_for_resume(saved, ResumeContext::SameProcess)),
      restore_mask_(mask) {}

Result<RemoteSyscalls> RemoteSyscalls::create(Tracee& tracee, SyscallSite site) {
  ASSIGN_OR_RETURN(Registers saved, tracee.get_registers());
  ASSIGN_OR_RETURN(uint64_t mask, tracee.get_sigmask());
  return RemoteSyscalls(tracee, site, saved, mask);
}

Result<RemoteSyscalls> RemoteSyscalls::create_resumable(Tracee& tracee, const ResumePath& path) {
  ASSIGN_OR_RETURN(Registers saved, tracee.get_registers());
  ASSIGN_OR_RETURN(uint64_t mask, tracee.get_sigmask());
  ASSIGN_OR_RETURN(std::string xstate, tracee.get_xstate());
  SyscallSite site{path.syscall_site, false, 0};
  auto frame = write_resume_frame(tracee.tid(), path, saved, xstate, mask);
  if (frame) {
    site.resume_sp = *frame;
  } else {
    logging::get("ptrace")->debug("tid {}: no resume frame, a death of cryo now would harm it: {}", tracee.tid(),
                                  frame.error().message);
  }
  return RemoteSyscalls(tracee, site, saved, mask);
}

RemoteSyscalls::RemoteSyscalls(RemoteSyscalls&& other) noexcept
    : tracee_(other.tracee_),
      site_(other.site_),
      saved_(other.saved_),
      restore_regs_(other.restore_regs_),
      restore_mask_(other.restore_mask_),
      active_(std::exchange(other.active_, false)),
      mask_blocked_(other.mask_blocked_) {}

RemoteSyscalls::~RemoteSyscalls() {
  if (!active_ || !tracee_->attached()) return;
  // The mask first: until the registers are back, a thread left alone by a dying cryo still takes
  // the resume frame's way back, which restores both.
  auto mask = tracee_->set_sigmask(restore_mask_);
  auto regs = tracee_->set_registers(restore_regs_);
  if (!regs || !mask)
    logging::get("ptrace")->warn("tid {}: could not restore registers after injected syscalls: {}", tracee_->tid(),
                                 !regs ? regs.error().message : mask.error().message);
}

void RemoteSyscalls::note_clone_event(const Tracee& t, const WaitStatus& status) {
  if (status.ptrace_event() != PTRACE_EVENT_CLONE) return;
  unsigned long tid = 0;
  if (::ptrace(PTRACE_GETEVENTMSG, t.tid(), nullptr, &tid) == 0) cloned_ = static_cast<pid_t>(tid);
}

Result<int64_t> RemoteSyscalls::wait_for_syscall_done() {
  Tracee& t = *tracee_;
  if (site_.followed_by_int3) {
    RETURN_IF_ERROR(t.cont());
    for (;;) {
      ASSIGN_OR_RETURN(WaitStatus status, t.wait());
      if (status.gone()) return fail("tid " + std::to_string(t.tid()) + " " + status.describe() + " during an injected syscall");
      if (status.signal_delivery_stop() && status.stop_signal() == SIGTRAP) break;
      if (status.signal_delivery_stop())
        return fail("tid " + std::to_string(t.tid()) + " " + status.describe() + " during an injected syscall");
      note_clone_event(t, status);
      RETURN_IF_ERROR(t.cont());  // A group-stop or event stop: keep going until the int3.
    }
    ASSIGN_OR_RETURN(Registers after, t.get_registers());
    return static_cast<int64_t>(after.gp.rax);
  }
  // Entry stop, then exit stop.
  for (int stops = 0; stops < 2;) {
    RETURN_IF_ERROR(t.syscall());
    if (stops == 1) die_point_in_injected_call();
    ASSIGN_OR_RETURN(WaitStatus status, t.wait());
    if (status.gone()) return fail("tid " + std::to_string(t.tid()) + " " + status.describe() + " during an injected syscall");
    note_clone_event(t, status);
    if (status.syscall_stop()) {
      ++stops;
    } else if (status.signal_delivery_stop()) {
      // Every blockable signal is blocked: only SIGKILL and SIGSTOP get here.
      return fail("tid " + std::to_string(t.tid()) + " " + status.describe() + " during an injected syscall");
    }
  }
  ASSIGN_OR_RETURN(Registers after, t.get_registers());
  return static_cast<int64_t>(after.gp.rax);
}

Result<> RemoteSyscalls::use_site(SyscallSite site) {
  bool was_trapping = site_.followed_by_int3;
  site_ = site;
  if (was_trapping && !site.followed_by_int3 && mask_blocked_) RETURN_IF_ERROR(tracee_->set_sigmask(kAllSignals));
  return {};
}

Result<int64_t> RemoteSyscalls::raw(long nr, std::array<uint64_t, 6> args) {
  // Between two calls the tracee is in a state it can be left in: the place to stop on a signal.
  RETURN_IF_ERROR(check_interrupt());
  cloned_ = 0;
  Registers regs = saved_;
  regs.gp.rip = site_.address;
  regs.gp.rax = static_cast<uint64_t>(nr);
  // orig_rax -1: the kernel must not treat the stop we resume from as an interrupted syscall to restart.
  regs.gp.orig_rax = static_cast<uint64_t>(-1);
  regs.gp.rdi = args[0];
  regs.gp.rsi = args[1];
  regs.gp.rdx = args[2];
  regs.gp.r10 = args[3];
  regs.gp.r8 = args[4];
  regs.gp.r9 = args[5];
  if (site_.resume_sp != 0) regs.gp.rsp = site_.resume_sp;
  RETURN_IF_ERROR(tracee_->set_registers(regs));
  if (!mask_blocked_) {
    // Only now that the registers lead to injected code (and, with a resume frame, back to the saved
    // mask): blocked earlier, a thread detached by a dying cryo would keep every signal blocked.
    RETURN_IF_ERROR(tracee_->set_sigmask(kAllSignals));
    mask_blocked_ = true;
  }
  return wait_for_syscall_done();
}

Result<uint64_t> RemoteSyscalls::call(const std::string& what, long nr, std::array<uint64_t, 6> args) {
  ASSIGN_OR_RETURN(int64_t result, raw(nr, args));
  if (result < 0 && result > -4096)
    return fail(errno_error("pid " + std::to_string(tracee_->tid()) + ": remote " + what, static_cast<int>(-result)));
  logging::get("ptrace")->trace("tid {}: remote {} = {}", tracee_->tid(), what, hex(static_cast<uint64_t>(result)));
  return static_cast<uint64_t>(result);
}

Result<CpuPin> CpuPin::pin(pid_t tracer_tid, pid_t tracee_tid) {
  CpuPin pin;
  cpu_set_t tracer_mask, tracee_mask;
  if (::sched_getaffinity(tracer_tid, sizeof tracer_mask, &tracer_mask) != 0) return fail_errno("sched_getaffinity(tracer)");
  if (::sched_getaffinity(tracee_tid, sizeof tracee_mask, &tracee_mask) != 0)
    return fail_errno("sched_getaffinity(tid " + std::to_string(tracee_tid) + ")");
  int cpu = ::sched_getcpu();
  if (cpu < 0 || !CPU_ISSET(cpu, &tracee_mask)) {
    // Pick any CPU both may run on; without one, pinning is skipped (it only costs speed).
    cpu = -1;
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &tracer_mask) && CPU_ISSET(c, &tracee_mask)) { cpu = c; break; }
    if (cpu < 0) return pin;
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (::sched_setaffinity(tracer_tid, sizeof one, &one) != 0) return fail_errno("sched_setaffinity(tracer)");
  if (::sched_setaffinity(tracee_tid, sizeof one, &one) != 0) {
    ::sched_setaffinity(tracer_tid, sizeof tracer_mask, &tracer_mask);
    return fail_errno("sched_setaffinity(tid " + std::to_string(tracee_tid) + ")");
  }
  pin.tracer_ = tracer_tid;
  pin.tracee_ = tracee_tid;
  pin.tracer_mask_.assign(reinterpret_cast<const char*>(&tracer_mask), sizeof tracer_mask);
  pin.tracee_mask_.assign(reinterpret_cast<const char*>(&tracee_mask), sizeof tracee_mask);
  pin.active_ = true;
  return pin;
}

Result<CpuPin> CpuPin::pin_beside(pid_t tracer_tid, pid_t tracee_tid) {
  CpuPin pin;
  cpu_set_t tracer_mask;
  if (::sched_getaffinity(tracer_tid, sizeof tracer_mask, &tracer_mask) != 0) return fail_errno("sched_getaffinity(tracer)");
  ASSIGN_OR_RETURN(ProcStat stat, read_proc_stat(tracee_tid));
  if (stat.processor < 0 || stat.processor >= CPU_SETSIZE || !CPU_ISSET(stat.processor, &tracer_mask)) return pin;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(stat.processor, &one);
  if (::sched_setaffinity(tracer_tid, sizeof one, &one) != 0) return fail_errno("sched_setaffinity(tracer)");
  pin.tracer_ = tracer_tid;
  pin.tracer_mask_.assign(reinterpret_cast<const char*>(&tracer_mask), sizeof tracer_mask);
  pin.active_ = true;
  return pin;
}

CpuPin::CpuPin(CpuPin&& other) noexcept
    : tracer_(other.tracer_),
      tracee_(other.tracee_),
      tracer_mask_(std::move(other.tracer_mask_)),
      tracee_mask_(std::move(other.tracee_mask_)),
      active_(std::exchange(other.active_, false)) {}

CpuPin::~CpuPin() {
  if (!active_) return;
  if (!tracee_mask_.empty()) ::sched_setaffinity(tracee_, tracee_mask_.size(), reinterpret_cast<const cpu_set_t*>(tracee_mask_.data()));
  ::sched_setaffinity(tracer_, tracer_mask_.size(), reinterpret_cast<const cpu_set_t*>(tracer_mask_.data()));
}

}  // namespace cryo
