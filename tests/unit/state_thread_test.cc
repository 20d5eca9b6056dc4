// The homes of a thread's own registrations (state/thread/): robust list and clear_child_tid, rseq,
// scheduling; what dump reads back from scratch memory and what validation refuses.
#include <sched.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>

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

}  // namespace
}  // namespace cryo
