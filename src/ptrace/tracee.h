// One traced thread: seize, interrupt, wait, registers, signals and detach. Every error names the tid.
#pragma once

#include <sys/ptrace.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "ptrace/registers.h"
#include "ptrace/wait_status.h"

namespace cryo {

struct RseqConfig {
  uint64_t address = 0;
  uint32_t length = 0;
  uint32_t flags = 0;
  uint32_t signature = 0;
};

class Tracee {
 public:
  // PTRACE_SEIZE (with PTRACE_O_TRACESYSGOOD) then PTRACE_INTERRUPT, and waits for the stop.
  // The thread is stopped when this returns. A thread that died meanwhile is an error with err == ESRCH.
  static Result<Tracee> seize(pid_t tid);
  // Takes over a thread this process already traces and that is stopped (e.g. a child that did
  // PTRACE_TRACEME and stopped itself, or one seized elsewhere).
  static Tracee adopt_stopped(pid_t tid);

  Tracee(Tracee&& other) noexcept;
  Tracee& operator=(Tracee&& other) noexcept;
  Tracee(const Tracee&) = delete;
  Tracee& operator=(const Tracee&) = delete;
  // Detaches (resuming the thread) if still attached.
  ~Tracee();

  pid_t tid() const { return tid_; }
  bool attached() const { return attached_; }

  Result<WaitStatus> wait();
  // PTRACE_INTERRUPT then wait for the resulting stop.
  Result<> interrupt_and_stop();
  // The stop interrupt_and_stop() (and so seize()) ended in: a PTRACE_EVENT_STOP whose signal
  // tells a thread in a job-control group stop (SIGSTOP, SIGTSTP ...) from one that was running.
  const WaitStatus& last_stop() const { return last_stop_; }

  Result<Registers> get_registers();
  Result<> set_registers(const Registers& regs);
  // The NT_X86_XSTATE area (FPU, SSE, AVX, ...), as raw bytes.
  Result<std::string> get_xstate();
  Result<> set_xstate(const std::string& xstate);

  Result<uint64_t> get_sigmask();
  Result<> set_sigmask(uint64_t mask);
  // Pending siginfo_t records (128 bytes each): the thread's own, or the process-wide ones.
  Result<std::vector<std::string>> peek_pending_signals(bool shared);
  Result<RseqConfig> get_rseq_config();
  // PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG: the thread's syscall user dispatch mode
  // (prctl PR_SET_SYSCALL_USER_DISPATCH; 0: off). 0 too where the kernel cannot tell (before 6.4).
  Result<uint64_t> get_syscall_user_dispatch_mode();
  // PTRACE_SECCOMP_GET_FILTER: the classic BPF program (struct sock_filter[], 8 bytes each) of the
  // thread's seccomp filter `index` (0 is the one installed last), nullopt past the oldest.
  // PTRACE_SECCOMP_GET_METADATA gives its flags (SECCOMP_FILTER_FLAG_LOG). Both need CAP_SYS_ADMIN.
  Result<std::optional<std::string>> get_seccomp_filter(uint64_t index);
  Result<uint64_t> get_seccomp_filter_flags(uint64_t index);
  // PTRACE_SETOPTIONS: the thread's ptrace options (PTRACE_O_*) become `options`, replacing the
  // ones seize() set.
  Result<> set_options(int options);
  // Suspends the thread's seccomp filters until cryo detaches from it, so that the calls cryo
  // injects pass them: its options become `options` | PTRACE_O_SUSPEND_SECCOMP. The error says what
  // the kernel lacks where it has no such option (CONFIG_CHECKPOINT_RESTORE) or cryo lacks
  // CAP_SYS_ADMIN.
  Result<> suspend_seccomp(int options = PTRACE_O_TRACESYSGOOD);

  Result<> cont(int signal = 0);
  Result<> syscall(int signal = 0);  // PTRACE_SYSCALL: stop at the next syscall entry or exit.
  // Detaches; the thread resumes (with `signal` injected when non-zero).
  Result<> detach(int signal = 0);
  // Forgets the thread without detaching (it died, or was killed on purpose).
  void abandon() { attached_ = false; }

 private:
  explicit Tracee(pid_t tid) : tid_(tid), attached_(true) {}
  Error tracee_error(const std::string& call) const;

  pid_t tid_ = 0;
  bool attached_ = false;
  WaitStatus last_stop_;
};

// PTRACE_GET_RSEQ_CONFIGURATION of a thread this process traces and that is stopped, for a reader
// that holds only its tid (Tracee::get_rseq_config is the same call). Errors name the tid.
Result<RseqConfig> read_rseq_config(pid_t tid);

}  // namespace cryo
