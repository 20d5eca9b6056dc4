#include "ptrace/resume_frame.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>
#include <string_view>
#include <vector>

#include "base/file_util.h"

namespace cryo {
namespace {

// The kernel's x86_64 struct sigcontext (arch/x86/include/uapi/asm/sigcontext.h).
struct SigContext {
  uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
  uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
  uint16_t cs, gs, fs, ss;
  uint64_t err, trapno, oldmask, cr2;
  uint64_t fpstate;
  uint64_t reserved[8];
};
static_assert(sizeof(SigContext) == 256);

struct StackT {
  uint64_t sp;
  int32_t flags;
  int32_t pad;
  uint64_t size;
};

// struct rt_sigframe of arch/x86/include/asm/sigframe.h: return address, ucontext, siginfo.
struct RtSigframe {
  uint64_t pretcode;
  uint64_t uc_flags;
  uint64_t uc_link;
  StackT uc_stack;
  SigContext uc_mcontext;
  uint64_t uc_sigmask;
  unsigned char info[128];
};
static_assert(sizeof(RtSigframe) == 440);

// uc_flags as the kernel sets them for a 64-bit frame with xstate.
constexpr uint64_t kUcFpXstate = 0x1, kUcSigcontextSs = 0x2, kUcStrictRestoreSs = 0x4;
// The software-reserved bytes of the FXSAVE area that say an xstate area follows, and the word that
// must follow it (arch/x86/include/uapi/asm/sigcontext.h).
constexpr uint32_t kFpXstateMagic1 = 0x46505853;
constexpr uint32_t kFpXstateMagic2 = 0x46505845;
constexpr size_t kSwReservedAt = 464;
// An invalid sigaltstack mode: rt_sigreturn's restore_altstack() then fails quietly and leaves the
// thread's alternate signal stack as it is (the frame cannot know it: it is written before cryo asks).
constexpr int32_t kAltstackUnchanged = 3;
constexpr uint64_t kRedZone = 128;

uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }
uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

// Executable mappings of earlier processes already searched, by their maps line (range, offset,
// device, inode): a forked child maps the same library at the same address, so a tree is searched
// once. 0 means searched, no sigreturn there.
std::mutex cache_mutex;
std::map<std::string, uint64_t> sigreturn_cache;

std::optional<uint64_t> search_mapping(pid_t pid, uint64_t start, uint64_t end) {
  // Both spellings: glibc's and musl's `mov $15,%rax` (48 c7 c0 0f 00 00 00) and `mov $15,%eax`.
  static const std::string_view kPatterns[] = {std::string_view("\x48\xc7\xc0\x0f\x00\x00\x00\x0f\x05", 9),
                                               std::string_view("\xb8\x0f\x00\x00\x00\x0f\x05", 7)};
  constexpr uint64_t kChunk = 1 << 20;
  std::string buf;
  for (uint64_t at = start; at < end; at += kChunk - 16) {
    uint64_t n = std::min(kChunk, end - at);
    buf.resize(n);
    iovec local{buf.data(), n};
    iovec remote{reinterpret_cast<void*>(at), n};
    if (::process_vm_readv(pid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(n)) return std::nullopt;
    for (auto pattern : kPatterns)
      if (auto found = buf.find(pattern); found != std::string::npos) return at + found;
    if (at + n >= end) break;
  }
  return std::nullopt;
}

Result<std::optional<uint64_t>> find_sigreturn(pid_t pid, const std::string& maps) {
  struct Mapping {
    uint64_t start, end;
    std::string key;
    bool libc;
  };
  std::vector<Mapping> exec;
  std::istringstream lines(maps);
  std::string line;
  while (std::getline(lines, line)) {
    uint64_t start = 0, end = 0;
    char perms[8] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %7s", &start, &end, perms) != 3 || perms[2] != 'x') continue;
    if (line.ends_with("[vdso]") || line.ends_with("[vsyscall]")) continue;
    size_t path = line.find('/');
    std::string key = line.substr(0, path == std::string::npos ? line.size() : path);
    exec.push_back({start, end, key, line.find("libc") != std::string::npos});
  }
  // The C library first: that is where __restore_rt lives in nearly every process.
  std::stable_partition(exec.begin(), exec.end(), [](const Mapping& m) { return m.libc; });
  for (const auto& m : exec) {
    {
      std::lock_guard lock(cache_mutex);
      if (auto hit = sigreturn_cache.find(m.key); hit != sigreturn_cache.end()) {
        if (hit->second != 0) return std::optional<uint64_t>(hit->second);
        continue;
      }
    }
    auto found = search_mapping(pid, m.start, m.end);
    std::lock_guard lock(cache_mutex);
    sigreturn_cache[m.key] = found.value_or(0);
    if (found) return found;
  }
  return std::optional<uint64_t>();
}

bool is_reg_reg_xor(const std::string& code, size_t at, size_t* length) {
  if (at + 2 <= code.size() && static_cast<unsigned char>(code[at]) == 0x31 &&
      (static_cast<unsigned char>(code[at + 1]) & 0xc0) == 0xc0) {
    *length = 2;
    return true;
  }
  unsigned char rex = static_cast<unsigned char>(code[at]);
  if (rex >= 0x40 && rex <= 0x4f && at + 3 <= code.size() && static_cast<unsigned char>(code[at + 1]) == 0x31 &&
      (static_cast<unsigned char>(code[at + 2]) & 0xc0) == 0xc0) {
    *length = 3;
    return true;
  }
  return false;
}

}  // namespace

std::optional<size_t> find_clean_syscall(const std::string& code) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(code[i]); };
  for (size_t i = 0; i + 8 <= code.size(); ++i) {
    if (byte(i) != 0xb8 || byte(i + 3) != 0 || byte(i + 4) != 0 || byte(i + 5) != 0x0f || byte(i + 6) != 0x05) continue;
    size_t at = i + 7;
    for (int instructions = 0; at < code.size() && instructions < 8; ++instructions) {
      if (byte(at) == 0xc3) return i + 5;
      size_t length = 0;
      if (!is_reg_reg_xor(code, at, &length)) break;
      at += length;
    }
  }
  return std::nullopt;
}

Result<std::optional<ResumePath>> find_resume_path(pid_t pid) {
  std::string who = "pid " + std::to_string(pid);
  ASSIGN_OR_RETURN(std::string maps, read_file("/proc/" + std::to_string(pid) + "/maps"));
  uint64_t start = 0, end = 0;
  std::istringstream lines(maps);
  std::string line;
  while (std::getline(lines, line))
    if (line.ends_with("[vdso]")) std::sscanf(line.c_str(), "%lx-%lx", &start, &end);
  if (start == 0 || end <= start || end - start > (1u << 20)) return std::optional<ResumePath>();
  std::string code(end - start, '\0');
  iovec local{code.data(), code.size()};
  iovec remote{reinterpret_cast<void*>(start), code.size()};
  if (::process_vm_readv(pid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(code.size()))
    return fail(errno_error(who + ": process_vm_readv([vdso])"));
  auto site = find_clean_syscall(code);
  if (!site) return std::optional<ResumePath>();
  ASSIGN_OR_RETURN(auto sigreturn, find_sigreturn(pid, maps));
  if (!sigreturn) return std::optional<ResumePath>();
  return std::optional<ResumePath>(ResumePath{start + *site, *sigreturn});
}

uint64_t resume_frame_size(size_t xstate_size) { return align_up(sizeof(RtSigframe), 64) + xstate_size + 4; }

std::string build_resume_frame(uint64_t address, uint64_t sigreturn, const Registers& regs, const std::string& xstate,
                               uint64_t mask) {
  uint64_t fpstate_at = align_up(address + sizeof(RtSigframe), 64) - address;
  std::string out(fpstate_at + xstate.size() + 4, '\0');
  RtSigframe frame{};
  frame.pretcode = sigreturn;
  frame.uc_flags = kUcFpXstate | kUcSigcontextSs | kUcStrictRestoreSs;
  frame.uc_stack.flags = kAltstackUnchanged;
  const user_regs_struct& r = regs.gp;
  SigContext& sc = frame.uc_mcontext;
  sc.r8 = r.r8, sc.r9 = r.r9, sc.r10 = r.r10, sc.r11 = r.r11, sc.r12 = r.r12, sc.r13 = r.r13, sc.r14 = r.r14;
  sc.r15 = r.r15, sc.rdi = r.rdi, sc.rsi = r.rsi, sc.rbp = r.rbp, sc.rbx = r.rbx, sc.rdx = r.rdx, sc.rax = r.rax;
  sc.rcx = r.rcx, sc.rsp = r.rsp, sc.rip = r.rip, sc.eflags = r.eflags;
  sc.cs = static_cast<uint16_t>(r.cs), sc.gs = static_cast<uint16_t>(r.gs), sc.fs = static_cast<uint16_t>(r.fs);
  sc.ss = static_cast<uint16_t>(r.ss);
  sc.fpstate = address + fpstate_at;
  frame.uc_sigmask = mask;
  std::memcpy(out.data(), &frame, sizeof frame);
  std::memcpy(out.data() + fpstate_at, xstate.data(), xstate.size());
  if (xstate.size() >= kSwReservedAt + 16) {
    // Say that the whole area is there (ptrace fills these bytes, but with the largest size the CPU
    // could have), and end it with the second magic word, as the kernel's own frames do.
    char* sw = out.data() + fpstate_at + kSwReservedAt;
    uint32_t magic1 = kFpXstateMagic1, extended = static_cast<uint32_t>(xstate.size() + 4);
    uint32_t size = static_cast<uint32_t>(xstate.size());
    // The components rt_sigreturn restores: every one this CPU has enabled for user space (XCR0).
    // ptrace leaves 0 here, and with 0 the kernel restores none: SSE and AVX registers came back
    // zeroed.
    uint32_t lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    uint64_t xfeatures = (static_cast<uint64_t>(hi) << 32) | lo;
    std::memcpy(sw, &magic1, 4);
    std::memcpy(sw + 4, &extended, 4);
    std::memcpy(sw + 8, &xfeatures, 8);
    std::memcpy(sw + 16, &size, 4);
  }
  uint32_t magic2 = kFpXstateMagic2;
  std::memcpy(out.data() + fpstate_at + xstate.size(), &magic2, 4);
  return out;
}

Result<uint64_t> write_resume_frame(pid_t tid, const ResumePath& path, const Registers& saved, const std::string& xstate,
                                    uint64_t mask) {
  uint64_t size = resume_frame_size(xstate.size());
  uint64_t address = align_down(saved.gp.rsp - kRedZone - size, 64);
  // rt_sigreturn restores a thread that is not in a syscall any more: a restartable one is set to
  // run again. Its restart block does not survive rt_sigreturn, so such a call is re-executed from
  // its start (a relative timeout starts over), as after a restore.
  Registers resume = registers_for_resume(saved, ResumeContext::Restored);
  std::string frame = build_resume_frame(address, path.sigreturn, resume, xstate, mask);
  iovec local{frame.data(), frame.size()};
  iovec remote{reinterpret_cast<void*>(address), frame.size()};
  if (::process_vm_writev(tid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(frame.size()))
    return fail(errno_error("tid " + std::to_string(tid) + ": process_vm_writev(resume frame)"));
  return address;
}

}  // namespace cryo
