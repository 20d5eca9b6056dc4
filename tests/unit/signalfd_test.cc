// signalfd (state/files/signalfd.h): the mask install gives, collect reads back from fdinfo;
// validation refuses the signals no signalfd can take.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "state/files/signalfd.h"

namespace cryo::state {
namespace {

image::Fd signalfd_with(uint64_t mask) {
  image::Fd fd;
  fd.set_fd(9);
  fd.set_kind(image::FD_SIGNALFD);
  fd.mutable_signalfd()->set_mask(mask);
  return fd;
}

uint64_t bit(int signo) { return uint64_t{1} << (signo - 1); }

TEST(SignalfdKind, InstallThenCollectGivesTheMaskBack) {
  uint64_t mask = bit(SIGUSR1) | bit(SIGTERM) | bit(SIGRTMIN + 3);
  auto made = create_fd(*find_fd_kind(image::FD_SIGNALFD), signalfd_with(mask), FdInstall{});
  ASSERT_TRUE(made) << made.error().message;
  UniqueFd fd(*made);
  auto info = read_proc_fdinfo(::getpid(), fd.get());
  ASSERT_TRUE(info) << info.error().message;
  image::Fd got;
  ASSERT_TRUE(collect_signalfd(FdCollect{::getpid(), fd.get(), *info}, got));
  EXPECT_EQ(got.signalfd().mask(), mask);
}

TEST(SignalfdKind, ValidationRefusesSigkillAndSigstop) {
  std::vector<std::string> problems;
  validate_signalfd(signalfd_with(bit(SIGUSR1)), {}, "fd 9", &problems);
  EXPECT_TRUE(problems.empty());
  validate_signalfd(signalfd_with(bit(SIGKILL)), {}, "fd 9", &problems);
  validate_signalfd(signalfd_with(bit(SIGSTOP)), {}, "fd 9", &problems);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0], "fd 9: signalfd mask holds SIGKILL or SIGSTOP");
}

}  // namespace
}  // namespace cryo::state
