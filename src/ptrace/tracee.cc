#include "ptrace/tracee.h"

#include <elf.h>
#include <linux/filter.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <cerrno>
#include <utility>

namespace cryo {
namespace {

// Debian 12's glibc headers predate these requests.
constexpr int kPtraceGetRseqConfiguration = 0x420f;
constexpr int kPtraceGetSyscallUserDispatchConfig = 0x4211;

struct PtraceSudConfig {
  uint64_t mode, selector, offset, len;
};

struct PtraceRseqConfiguration {
  uint64_t rseq_abi_pointer;
  uint32_t rseq_abi_size;
  uint32_t signature;
  uint32_t flags;
  uint32_t pad;
};

struct PeekSiginfoArgs {
  uint64_t off;
  uint32_t flags;
  int32_t nr;
};
constexpr uint32_t kPeekSiginfoShared = 1;
constexpr size_t kSiginfoSize = 128;

}  // namespace

Error Tracee::tracee_error(const std::string& call) const {
  return errno_error("tid " + std::to_string(tid_) + ": " + call);
}

Result<Tracee> Tracee::seize(pid_t tid) {
  if (::ptrace(PTRACE_SEIZE, tid, nullptr, PTRACE_O_TRACESYSGOOD) != 0) {
    Error e = errno_error("tid " + std::to_string(tid) + ": ptrace(PTRACE_SEIZE)");
    if (e.err == EPERM) e = e.with_hint("is it already traced (by a debugger or another cryo)? stop that first");
    return fail(e);
  }
  Tracee tracee(tid);
  RETURN_IF_ERROR(tracee.interrupt_and_stop());
  return tracee;
}

Tracee Tracee::adopt_stopped(pid_t tid) { return Tracee(tid); }

Tracee::Tracee(Tracee&& other) noexcept
    : tid_(other.tid_), attached_(std::exchange(other.attached_, false)), last_stop_(other.last_stop_) {}

Tracee& Tracee::operator=(Tracee&& other) noexcept {
  if (this != &other) {
    if (attached_) (void)detach();
    tid_ = other.tid_;
    attached_ = std::exchange(other.attached_, false);
    last_stop_ = other.last_stop_;
  }
  return *this;
}

Tracee::~Tracee() {
  if (!attached_) return;
  if (!detach()) {
    // PTRACE_DETACH needs a stopped tracee: stop it first if it is running.
    if (interrupt_and_stop()) (void)detach();
  }
}

Result<WaitStatus> Tracee::wait() {
  int status = 0;
  for (;;) {
    pid_t got = ::waitpid(tid_, &status, __WALL);
    if (got == tid_) break;
    if (got < 0 && errno == EINTR) continue;
    return fail(tracee_error("waitpid"));
  }
  WaitStatus ws(status);
  if (ws.gone()) attached_ = false;
  return ws;
}

Result<> Tracee::interrupt_and_stop() {
  if (::ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr) != 0) return fail(tracee_error("ptrace(PTRACE_INTERRUPT)"));
  for (;;) {
    ASSIGN_OR_RETURN(WaitStatus status, wait());
    if (status.gone()) {
      return fail(Error{"tid " + std::to_string(tid_) + " " + status.describe() + " while being stopped", ESRCH, {}, 1});
    }
    if (status.event_stop()) {
      last_stop_ = status;
      return {};
    }
    if (status.signal_delivery_stop()) {
      // A signal arrived first: let it be delivered as it would have been; the interrupt is still
      // pending and stops the thread right after.
      if (::ptrace(PTRACE_CONT, tid_, nullptr, status.stop_signal()) != 0) return fail(tracee_error("ptrace(PTRACE_CONT)"));
      continue;
    }
    // A syscall or other event stop left over from earlier tracing: resume to reach the interrupt.
    if (::ptrace(PTRACE_CONT, tid_, nullptr, 0) != 0) return fail(tracee_error("ptrace(PTRACE_CONT)"));
  }
}

Result<Registers> Tracee::get_registers() {
  Registers regs;
  iovec iov{&regs.gp, sizeof regs.gp};
  if (::ptrace(PTRACE_GETREGSET, tid_, NT_PRSTATUS, &iov) != 0) return fail(tracee_error("ptrace(PTRACE_GETREGSET, NT_PRSTATUS)"));
  return regs;
}

Result<> Tracee::set_registers(const Registers& regs) {
  Registers copy = regs;
  iovec iov{&copy.gp, sizeof copy.gp};
  if (::ptrace(PTRACE_SETREGSET, tid_, NT_PRSTATUS, &iov) != 0) return fail(tracee_error("ptrace(PTRACE_SETREGSET, NT_PRSTATUS)"));
  return {};
}

Result<std::string> Tracee::get_xstate() {
  // The kernel shrinks iov_len to the real size of the xstate area of this CPU.
  std::string buf(64 * 1024, '\0');
  iovec iov{buf.data(), buf.size()};
  if (::ptrace(PTRACE_GETREGSET, tid_, NT_X86_XSTATE, &iov) != 0) return fail(tracee_error("ptrace(PTRACE_GETREGSET, NT_X86_XSTATE)"));
  buf.resize(iov.iov_len);
  return buf;
}

Result<> Tracee::set_xstate(const std::string& xstate) {
  std::string copy = xstate;
  iovec iov{copy.data(), copy.size()};
  if (::ptrace(PTRACE_SETREGSET, tid_, NT_X86_XSTATE, &iov) != 0) return fail(tracee_error("ptrace(PTRACE_SETREGSET, NT_X86_XSTATE)"));
  return {};
}

Result<uint64_t> Tracee::get_sigmask() {
  uint64_t mask = 0;
  if (::ptrace(PTRACE_GETSIGMASK, tid_, sizeof mask, &mask) != 0) return fail(tracee_error("ptrace(PTRACE_GETSIGMASK)"));
  return mask;
}

Result<> Tracee::set_sigmask(uint64_t mask) {
  if (::ptrace(PTRACE_SETSIGMASK, tid_, sizeof mask, &mask) != 0) return fail(tracee_error("ptrace(PTRACE_SETSIGMASK)"));
  return {};
}

Result<std::vector<std::string>> Tracee::peek_pending_signals(bool shared) {
  std::vector<std::string> out;
  constexpr int kBatch = 32;
  char buf[kBatch * kSiginfoSize];
  for (;;) {
    PeekSiginfoArgs args{out.size(), shared ? kPeekSiginfoShared : 0, kBatch};
    long n = ::ptrace(PTRACE_PEEKSIGINFO, tid_, &args, buf);
    if (n < 0) return fail(tracee_error("ptrace(PTRACE_PEEKSIGINFO)"));
    if (n == 0) break;
    for (long i = 0; i < n; ++i) out.emplace_back(buf + i * kSiginfoSize, kSiginfoSize);
    // The kernel caps pending real-time signals by RLIMIT_SIGPENDING; this bound only stops a loop
    // on a kernel that misbehaves.
    if (out.size() > (1u << 20)) return fail("tid " + std::to_string(tid_) + ": too many pending signals");
  }
  return out;
}

Result<RseqConfig> Tracee::get_rseq_config() { return read_rseq_config(tid_); }

Result<uint64_t> Tracee::get_syscall_user_dispatch_mode() {
  PtraceSudConfig conf{};
  if (::ptrace(static_cast<__ptrace_request>(kPtraceGetSyscallUserDispatchConfig), tid_, sizeof conf, &conf) < 0) {
    if (errno == EIO) return uint64_t{0};  // A kernel without the request, and so without a way to tell.
    return fail(tracee_error("ptrace(PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG)"));
  }
  return conf.mode;
}

Result<RseqConfig> read_rseq_config(pid_t tid) {
  PtraceRseqConfiguration conf{};
  if (::ptrace(static_cast<__ptrace_request>(kPtraceGetRseqConfiguration), tid, sizeof conf, &conf) < 0)
    return fail(errno_error("tid " + std::to_string(tid) + ": ptrace(PTRACE_GET_RSEQ_CONFIGURATION)"));
  return RseqConfig{conf.rseq_abi_pointer, conf.rseq_abi_size, conf.flags, conf.signature};
}

Result<std::optional<std::string>> Tracee::get_seccomp_filter(uint64_t index) {
  long count = ::ptrace(PTRACE_SECCOMP_GET_FILTER, tid_, reinterpret_cast<void*>(index), nullptr);
  if (count < 0 && errno == ENOENT) return std::optional<std::string>();
  if (count < 0) return fail(tracee_error("ptrace(PTRACE_SECCOMP_GET_FILTER)"));
  std::string program(static_cast<size_t>(count) * sizeof(sock_filter), '\0');
  long again = ::ptrace(PTRACE_SECCOMP_GET_FILTER, tid_, reinterpret_cast<void*>(index), program.data());
  if (again != count) return fail(tracee_error("ptrace(PTRACE_SECCOMP_GET_FILTER) of the program"));
  return std::optional<std::string>(std::move(program));
}

Result<uint64_t> Tracee::get_seccomp_filter_flags(uint64_t index) {
  __ptrace_seccomp_metadata metadata{index, 0};
  if (::ptrace(PTRACE_SECCOMP_GET_METADATA, tid_, reinterpret_cast<void*>(sizeof metadata), &metadata) < 0)
    return fail(tracee_error("ptrace(PTRACE_SECCOMP_GET_METADATA)"));
  return static_cast<uint64_t>(metadata.flags);
}

Result<> Tracee::set_options(int options) {
  if (::ptrace(PTRACE_SETOPTIONS, tid_, nullptr, options) != 0) return fail(tracee_error("ptrace(PTRACE_SETOPTIONS)"));
  return {};
}

Result<> Tracee::suspend_seccomp(int options) {
  auto suspended = set_options(options | PTRACE_O_SUSPEND_SECCOMP);
  if (suspended || (suspended.error().err != EINVAL && suspended.error().err != EPERM)) return suspended;
  return fail(suspended.error().with_hint(
      "cryo must suspend seccomp filters while it injects calls (PTRACE_O_SUSPEND_SECCOMP): that needs a kernel built with "
      "CONFIG_CHECKPOINT_RESTORE and CAP_SYS_ADMIN"));
}

Result<> Tracee::cont(int signal) {
  if (::ptrace(PTRACE_CONT, tid_, nullptr, signal) != 0) return fail(tracee_error("ptrace(PTRACE_CONT)"));
  return {};
}

Result<> Tracee::syscall(int signal) {
  if (::ptrace(PTRACE_SYSCALL, tid_, nullptr, signal) != 0) return fail(tracee_error("ptrace(PTRACE_SYSCALL)"));
  return {};
}

Result<> Tracee::detach(int signal) {
  if (!attached_) return {};
  if (::ptrace(PTRACE_DETACH, tid_, nullptr, signal) != 0) return fail(tracee_error("ptrace(PTRACE_DETACH)"));
  attached_ = false;
  return {};
}

}  // namespace cryo
