// timerfd (state/files/timerfd.h): what install arms, collect reads back from fdinfo; validation
// names what no timerfd can be; holders of one timer agree on all but its time left.
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "state/files/timerfd.h"

namespace cryo::state {
namespace {

constexpr uint64_t kHour = 3600'000'000'000;

image::Fd timerfd_with(int clockid, uint64_t remaining_ns, uint64_t interval_ns) {
  image::Fd fd;
  fd.set_fd(4);
  fd.set_kind(image::FD_TIMERFD);
  fd.mutable_timerfd()->set_clockid(clockid);
  fd.mutable_timerfd()->set_remaining_ns(remaining_ns);
  fd.mutable_timerfd()->set_interval_ns(interval_ns);
  return fd;
}

TEST(TimerfdKind, InstallThenCollectGivesTheTimerBack) {
  image::Fd want = timerfd_with(CLOCK_MONOTONIC, kHour, 2 * kHour);
  auto made = create_fd(*find_fd_kind(image::FD_TIMERFD), want, FdInstall{});
  ASSERT_TRUE(made) << made.error().message;
  UniqueFd fd(*made);
  auto info = read_proc_fdinfo(::getpid(), fd.get());
  ASSERT_TRUE(info) << info.error().message;
  image::Fd got;
  ASSERT_TRUE(collect_timerfd(FdCollect{::getpid(), fd.get(), *info}, got));
  EXPECT_EQ(got.timerfd().clockid(), CLOCK_MONOTONIC);
  EXPECT_EQ(got.timerfd().interval_ns(), 2 * kHour);
  // Armed an hour from now: some of it has run by the time fdinfo is read.
  EXPECT_LE(got.timerfd().remaining_ns(), kHour);
  EXPECT_GT(got.timerfd().remaining_ns(), kHour / 2);
  EXPECT_TRUE(same_timerfd(want, got));
}

TEST(TimerfdKind, ValidationNamesWhatNoTimerfdCanBe) {
  std::vector<std::string> problems;
  validate_timerfd(timerfd_with(CLOCK_MONOTONIC, kHour, 0), {}, "fd 4", &problems);
  EXPECT_TRUE(problems.empty());
  validate_timerfd(timerfd_with(CLOCK_PROCESS_CPUTIME_ID, 0, 0), {}, "fd 4", &problems);
  image::Fd cancel = timerfd_with(CLOCK_MONOTONIC, kHour, 0);
  cancel.mutable_timerfd()->set_settime_flags(TFD_TIMER_CANCEL_ON_SET);
  validate_timerfd(cancel, {}, "fd 4", &problems);
  validate_timerfd(timerfd_with(CLOCK_BOOTTIME, uint64_t{1} << 63, 0), {}, "fd 4", &problems);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0], "fd 4: timerfd clock 2 is not one a timerfd can use");
  EXPECT_EQ(problems[1], "fd 4: TFD_TIMER_CANCEL_ON_SET needs an absolute CLOCK_REALTIME timer");
  EXPECT_EQ(problems[2], "fd 4: timerfd times are out of range");
}

TEST(TimerfdKind, HoldersOfOneTimerAgreeOnAllButItsTimeLeft) {
  EXPECT_TRUE(same_timerfd(timerfd_with(CLOCK_MONOTONIC, kHour, 5), timerfd_with(CLOCK_MONOTONIC, kHour - 10, 5)));
  EXPECT_FALSE(same_timerfd(timerfd_with(CLOCK_MONOTONIC, kHour, 5), timerfd_with(CLOCK_MONOTONIC, kHour, 6)));
  EXPECT_FALSE(same_timerfd(timerfd_with(CLOCK_MONOTONIC, kHour, 5), timerfd_with(CLOCK_BOOTTIME, kHour, 5)));
}

}  // namespace
}  // namespace cryo::state
