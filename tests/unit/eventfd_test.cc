// eventfd (state/files/eventfd.h): what install makes, collect reads back from fdinfo; validation
// names a counter the kernel never holds.
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "state/files/eventfd.h"

namespace cryo::state {
namespace {

image::Fd eventfd_with(uint64_t count, bool semaphore) {
  image::Fd fd;
  fd.set_fd(7);
  fd.set_kind(image::FD_EVENTFD);
  fd.mutable_eventfd()->set_count(count);
  fd.mutable_eventfd()->set_semaphore(semaphore);
  return fd;
}

TEST(EventfdKind, InstallThenCollectGivesTheCounterBack) {
  // A counter above UINT32_MAX is set by a write of the rest.
  for (uint64_t count : {uint64_t{0}, uint64_t{5}, uint64_t{1} << 40}) {
    image::Fd want = eventfd_with(count, count == 5);
    auto made = create_fd(*find_fd_kind(image::FD_EVENTFD), want, FdInstall{});
    ASSERT_TRUE(made) << made.error().message;
    UniqueFd fd(*made);
    auto info = read_proc_fdinfo(::getpid(), fd.get());
    ASSERT_TRUE(info) << info.error().message;
    image::Fd got;
    ASSERT_TRUE(collect_eventfd(FdCollect{::getpid(), fd.get(), *info}, got));
    EXPECT_EQ(got.eventfd().count(), count);
    EXPECT_EQ(got.eventfd().semaphore(), count == 5);
  }
}

TEST(EventfdKind, ValidationRefusesACounterTheKernelNeverHolds) {
  std::vector<std::string> problems;
  validate_eventfd(eventfd_with(UINT64_MAX - 1, false), {}, "fd 7", &problems);
  EXPECT_TRUE(problems.empty());
  validate_eventfd(eventfd_with(UINT64_MAX, false), {}, "fd 7", &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "fd 7: eventfd counter is out of range");
}

}  // namespace
}  // namespace cryo::state
