#include "kernel/proc_timers.h"

#include <signal.h>
#include <time.h>

#include <gtest/gtest.h>

#include "base/file_util.h"

namespace cryo {
namespace {

TEST(ProcTimers, ParsesSignalNoneAndThreadTimers) {
  auto text = read_file(std::string(CRYO_TEST_FIXTURES) + "/proc/timers_three.txt");
  ASSERT_TRUE(text);
  auto timers = parse_proc_timers(*text);
  ASSERT_TRUE(timers) << timers.error().message;
  ASSERT_EQ(timers->size(), 3u);
  EXPECT_EQ((*timers)[0].id, 7);
  EXPECT_EQ((*timers)[0].signo, SIGUSR2);
  EXPECT_EQ((*timers)[0].sigval, 0x1234u);
  EXPECT_EQ((*timers)[0].notify, SIGEV_SIGNAL);
  EXPECT_EQ((*timers)[0].notify_pid, 21183);
  EXPECT_EQ((*timers)[0].clock_id, CLOCK_MONOTONIC);
  EXPECT_EQ((*timers)[1].notify, SIGEV_NONE);
  EXPECT_EQ((*timers)[1].clock_id, CLOCK_BOOTTIME);
  EXPECT_EQ((*timers)[2].notify, SIGEV_SIGNAL | SIGEV_THREAD_ID);
  EXPECT_EQ((*timers)[2].notify_pid, 21190);
  EXPECT_EQ((*timers)[2].sigval, 0x00007f0a1b2c3d40u);
}

TEST(ProcTimers, EmptyFileIsNoTimers) {
  auto timers = parse_proc_timers("");
  ASSERT_TRUE(timers);
  EXPECT_TRUE(timers->empty());
}

TEST(ProcTimers, MalformedLinesAreErrors) {
  EXPECT_FALSE(parse_proc_timers("signal: 10/0\n"));
  EXPECT_FALSE(parse_proc_timers("ID: 1\nnotify: bogus/pid.3\n"));
  EXPECT_FALSE(parse_proc_timers("ID: 1\nnotify: signal/who.3\n"));
  EXPECT_FALSE(parse_proc_timers("ID: x\n"));
}

}  // namespace
}  // namespace cryo
