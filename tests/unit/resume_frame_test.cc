#include "ptrace/resume_frame.h"

#include <gtest/gtest.h>

#include <cstring>

namespace cryo {
namespace {

uint64_t u64_at(const std::string& bytes, size_t at) {
  uint64_t v;
  std::memcpy(&v, bytes.data() + at, 8);
  return v;
}
uint32_t u32_at(const std::string& bytes, size_t at) {
  uint32_t v;
  std::memcpy(&v, bytes.data() + at, 4);
  return v;
}

TEST(ResumeFrame, FindsAVdsoSyscallFollowedOnlyByXorsAndRet) {
  // clock_gettime's fallback (mov $0xe4,%eax; syscall; lea; pop ...) is not clean; clock_getres's
  // (syscall; xor %edx,%edx; xor %ecx,%ecx; xor %r11d,%r11d; ret) is.
  std::string code("\x90\xb8\xe4\x00\x00\x00\x0f\x05\x48\x8d\x65\xf0\x5b"
                   "\xb8\xe5\x00\x00\x00\x0f\x05\x31\xd2\x31\xc9\x45\x31\xdb\xc3",
                   28);
  auto site = find_clean_syscall(code);
  ASSERT_TRUE(site);
  EXPECT_EQ(*site, 18u);
  EXPECT_FALSE(find_clean_syscall(code.substr(0, 13)));
  // A memory operand (xor %edx,(%rax)) is not a register clear.
  EXPECT_FALSE(find_clean_syscall(std::string("\xb8\xe5\x00\x00\x00\x0f\x05\x31\x10\xc3", 10)));
}

TEST(ResumeFrame, LaysOutAnRtSigframeTheKernelAccepts) {
  Registers regs;
  regs.gp.rip = 0x401000;
  regs.gp.rsp = 0x7ffd0000;
  regs.gp.rax = 7;
  regs.gp.r8 = 8;
  regs.gp.cs = 0x33;
  regs.gp.ss = 0x2b;
  std::string xstate(832, '\x11');
  uint64_t address = 0x7ffc0000;
  std::string frame = build_resume_frame(address, 0x7f0000123456, regs, xstate, 0x1234);
  EXPECT_EQ(frame.size(), resume_frame_size(xstate.size()));
  EXPECT_EQ(u64_at(frame, 0), 0x7f0000123456u);           // pretcode: where `ret` goes.
  EXPECT_EQ(u64_at(frame, 8), 0x7u);                      // uc_flags: FP_XSTATE | SIGCONTEXT_SS | STRICT_RESTORE_SS.
  EXPECT_EQ(u32_at(frame, 8 + 16 + 8), 3u);               // uc_stack.ss_flags: invalid, altstack untouched.
  size_t mcontext = 8 + 8 + 8 + 24;
  EXPECT_EQ(u64_at(frame, mcontext + 0), 8u);             // r8
  EXPECT_EQ(u64_at(frame, mcontext + 13 * 8), 7u);        // rax
  EXPECT_EQ(u64_at(frame, mcontext + 15 * 8), 0x7ffd0000u);  // rsp
  EXPECT_EQ(u64_at(frame, mcontext + 16 * 8), 0x401000u);    // rip
  uint64_t fpstate = u64_at(frame, mcontext + 184);
  EXPECT_EQ(fpstate % 64, 0u);
  EXPECT_EQ(u64_at(frame, mcontext + 256), 0x1234u);      // uc_sigmask
  size_t fp = fpstate - address;
  EXPECT_EQ(u32_at(frame, fp + 464), 0x46505853u);        // FP_XSTATE_MAGIC1
  EXPECT_EQ(u32_at(frame, fp + 468), 836u);               // extended_size
  EXPECT_EQ(u32_at(frame, fp + 480), 832u);               // xstate_size
  EXPECT_EQ(u32_at(frame, fp + 832), 0x46505845u);        // FP_XSTATE_MAGIC2 right after the area
}

}  // namespace
}  // namespace cryo
