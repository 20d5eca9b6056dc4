// The timers' home (state/process/timers.h): interval timers read from scratch memory, and the
// validation of POSIX and interval timers.
#include <signal.h>
#include <time.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "state/process/timers.h"

namespace cryo {
namespace {

std::vector<std::string> problems_of(const image::ProcessCore& core) {
  std::vector<std::string> out;
  validate_timers(core, [&](const std::string& p) { out.push_back(p); });
  return out;
}

TEST(TimerState, ReadsTheThreeIntervalTimersInMicroseconds) {
  kernel_abi::Itimerval timers[3] = {{1, 500000, 2, 250}, {0, 0, 0, 0}, {0, 10, 3, 0}};
  int64_t clock[2] = {7, 5};  // CLOCK_MONOTONIC right after: 7 s 5 ns.
  char answer[kItimersAnswerSize];
  std::memcpy(answer, timers, sizeof timers);
  std::memcpy(answer + sizeof timers, clock, sizeof clock);
  image::ProcessCore core;
  read_itimers(answer, core);
  ASSERT_EQ(core.itimers_size(), 3);
  EXPECT_EQ(core.itimers(0).which(), 0u);
  EXPECT_EQ(core.itimers(0).interval_us(), 1500000u);
  EXPECT_EQ(core.itimers(0).value_us(), 2000250u);
  EXPECT_EQ(core.itimers(1).value_us(), 0u);
  EXPECT_EQ(core.itimers(2).which(), 2u);
  EXPECT_EQ(core.itimers(2).interval_us(), 10u);
  EXPECT_EQ(core.itimers(2).value_us(), 3000000u);
  EXPECT_EQ(core.itimers(0).read_at_ns(), 7000000005);
  EXPECT_EQ(core.itimers(2).read_at_ns(), 7000000005);
  EXPECT_TRUE(problems_of(core).empty());
}

// The tree froze at 10 s on the timer's clock; cryo read the timer at 11.5 s.
TEST(TimerState, ATimerReadAfterTheFreezeGetsBackTheTimeItHadLeftThen) {
  constexpr int64_t kFreeze = 10'000'000'000, kRead = 11'500'000'000;
  EXPECT_EQ(time_left_at_freeze(3'000'000'000, kRead, kFreeze), 4'500'000'000u);
  // Disarmed stays disarmed; no reading (an older image) or no freeze reading: as read.
  EXPECT_EQ(time_left_at_freeze(0, kRead, kFreeze), 0u);
  EXPECT_EQ(time_left_at_freeze(3'000'000'000, 0, kFreeze), 3'000'000'000u);
  EXPECT_EQ(time_left_at_freeze(3'000'000'000, kRead, 0), 3'000'000'000u);
  // A reading before the freeze is no image cryo writes: no correction, never less time.
  EXPECT_EQ(time_left_at_freeze(3'000'000'000, kFreeze - 1, kFreeze), 3'000'000'000u);
}

TEST(TimerState, RefusesIntervalTimerTimesOutOfRange) {
  image::ProcessCore core;
  core.add_threads()->set_tid(1);
  auto* real = core.add_itimers();
  real->set_which(0);
  real->set_value_us(~uint64_t{0} / 2);
  real->set_read_at_ns(-1);
  auto problems = problems_of(core);
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  EXPECT_NE(all.find("interval timer 0: its time is out of range"), std::string::npos) << all;
  EXPECT_NE(all.find("interval timer 0: its clock reading is out of range"), std::string::npos) << all;
}

TEST(TimerState, AThreadDirectedTimerOfTheProcessHasNoProblem) {
  image::ProcessCore core;
  core.add_threads()->set_tid(1);
  core.add_threads()->set_tid(2);
  auto* t = core.add_posix_timers();
  t->set_id(3);
  t->set_clock_id(CLOCK_MONOTONIC);
  t->set_notify(SIGEV_SIGNAL | SIGEV_THREAD_ID);
  t->set_signo(SIGALRM);
  t->set_notify_tid(2);
  t->set_value_ns(1000000);
  EXPECT_TRUE(problems_of(core).empty());
}

TEST(TimerState, RefusesTimersRestoreCannotMake) {
  image::ProcessCore core;
  core.add_threads()->set_tid(1);
  core.add_itimers()->set_which(1);
  core.add_itimers()->set_which(1);
  core.add_itimers()->set_which(3);
  auto* cpu = core.add_posix_timers();
  cpu->set_id(0);
  cpu->set_clock_id(CLOCK_PROCESS_CPUTIME_ID);
  auto* thread = core.add_posix_timers();
  thread->set_id(0);
  thread->set_clock_id(CLOCK_REALTIME);
  thread->set_notify(SIGEV_THREAD);
  auto problems = problems_of(core);
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  EXPECT_NE(all.find("interval timer 1 is invalid or repeated"), std::string::npos) << all;
  EXPECT_NE(all.find("interval timer 3 is invalid or repeated"), std::string::npos) << all;
  EXPECT_NE(all.find("POSIX timer 0: clock 2 is not one cryo restores"), std::string::npos) << all;
  EXPECT_NE(all.find("POSIX timer 0 has an invalid or repeated ID"), std::string::npos) << all;
  EXPECT_NE(all.find("notification kind 2 is not one cryo restores"), std::string::npos) << all;
}

}  // namespace
}  // namespace cryo
