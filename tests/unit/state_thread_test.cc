// The homes of a thread's own state (state/thread/): registers, robust list and clear_child_tid,
// rseq, scheduling; what dump reads back from scratch memory and what validation refuses.
#include <sched.h>
#include <sys/user.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "state/thread/registers.h"
#include "state/thread/registrations.h"
#include "state/thread/rseq.h"
#include "state/thread/scheduling.h"
#include "unit/state_problems.h"

namespace cryo {
namespace {

TEST(ThreadRegistrations, ReadsClearChildTid) {
  uint64_t address = 0x7f1234567890;
  char answer[kClearChildTidAnswerSize];
  std::memcpy(answer, &address, sizeof address);
  image::ThreadCore thread;
  read_clear_child_tid(answer, thread);
  EXPECT_EQ(thread.clear_child_tid(), address);
  EXPECT_EQ(collected([&](auto& sink) { validate_registrations(thread, sink); }), "");
}

TEST(ThreadRegistrations, RefusesARobustListOfAnotherSizeAndAddressesOutsideUserSpace) {
  image::ThreadCore thread;
  thread.set_robust_list(0x7f0000001000);
  thread.set_robust_list_len(24);
  EXPECT_EQ(collected([&](auto& sink) { validate_registrations(thread, sink); }), "");
  thread.set_robust_list_len(16);
  thread.set_clear_child_tid(0xffff800000000000);
  EXPECT_EQ(collected([&](auto& sink) { validate_registrations(thread, sink); }),
            "robust list head 0x7f0000001000 (length 16) is invalid\nclear_child_tid 0xffff800000000000 is outside user space\n");
}

TEST(RseqState, RefusesAnAreaTheKernelWouldNotRegister) {
  image::ThreadCore thread;
  EXPECT_EQ(collected([&](auto& sink) { validate_rseq(thread, sink); }), "");  // None registered.
  thread.mutable_rseq()->set_address(0x7f0000000020);
  thread.mutable_rseq()->set_length(32);
  EXPECT_EQ(collected([&](auto& sink) { validate_rseq(thread, sink); }), "");
  thread.mutable_rseq()->set_address(0x7f0000000010);
  EXPECT_NE(collected([&](auto& sink) { validate_rseq(thread, sink); }).find("is not a valid registration"), std::string::npos);
  thread.mutable_rseq()->set_address(0x7f0000000020);
  thread.mutable_rseq()->set_length(16);
  EXPECT_NE(collected([&](auto& sink) { validate_rseq(thread, sink); }).find("of 16 bytes"), std::string::npos);
}

TEST(SchedulingState, RefusesPoliciesAndPrioritiesTheKernelDoesNotHave) {
  image::SchedState s;
  s.set_policy(SCHED_FIFO);
  s.set_priority(50);
  EXPECT_EQ(collected([&](auto& sink) { validate_sched_state(s, sink); }), "");
  s.set_policy(4);
  s.set_nice(20);
  s.set_priority(100);
  s.set_ioprio(4u << 13);
  s.set_affinity(std::string(2048, '\xff'));
  EXPECT_EQ(collected([&](auto& sink) { validate_sched_state(s, sink); }),
            "scheduling policy 4 is unknown\nnice 20 is out of -20..19\nreal-time priority 100 is out of 0..99\n"
            "its CPU mask is too large\nI/O priority 0x8000 is invalid\n");
}

TEST(RegisterState, RefusesRegistersPtraceWouldNotTake) {
  image::ThreadCore thread;
  thread.set_gpregs(std::string(sizeof(user_regs_struct), '\0'));
  std::string xstate(1024, '\0');
  uint64_t xstate_bv = 0x7;  // x87, SSE, AVX
  std::memcpy(xstate.data() + 512, &xstate_bv, sizeof xstate_bv);
  thread.set_xstate(xstate);
  EXPECT_EQ(collected([&](auto& sink) { validate_registers(thread, 0x7, sink); }), "");
  EXPECT_EQ(collected([&](auto& sink) { validate_registers(thread, 0x3, sink); }),
            "xstate holds components 0x7 outside the image's XCR0 0x3\n");
  uint64_t xcomp_bv = 1ull << 63;
  std::memcpy(xstate.data() + 520, &xcomp_bv, sizeof xcomp_bv);
  thread.set_xstate(xstate);
  EXPECT_NE(collected([&](auto& sink) { validate_registers(thread, 0x7, sink); }).find("compacted format"), std::string::npos);
  thread.set_gpregs("short");
  thread.set_xstate(std::string(100, '\0'));
  EXPECT_EQ(collected([&](auto& sink) { validate_registers(thread, 0x7, sink); }),
            "general registers are 5 bytes, expected " + std::to_string(sizeof(user_regs_struct)) +
                "\nxstate area of 100 bytes is not a valid XSAVE area\n");
}

}  // namespace
}  // namespace cryo
