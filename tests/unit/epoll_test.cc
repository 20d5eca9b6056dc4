// epoll (state/files/epoll.h): a set made by install and given its watches by finish is what
// collect reads back from fdinfo; validation names watches of fds the process does not have.
#include <sys/epoll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "base/unique_fd.h"
#include "state/files/epoll.h"

namespace cryo::state {
namespace {

TEST(EpollKind, InstallAndFinishThenCollectGiveTheWatchesBack) {
  int ends[2];
  ASSERT_EQ(::pipe(ends), 0);
  UniqueFd read_end(ends[0]), write_end(ends[1]);
  image::Fd want;
  want.set_kind(image::FD_EPOLL);
  image::EpollTarget* watch = want.mutable_epoll()->add_targets();
  watch->set_fd(read_end.get());
  watch->set_events(EPOLLIN | EPOLLET);
  watch->set_data(0x1234567890);
  watch = want.mutable_epoll()->add_targets();
  watch->set_fd(write_end.get());
  watch->set_events(EPOLLOUT);
  watch->set_data(7);
  auto made = create_fd(*find_fd_kind(image::FD_EPOLL), want, FdInstall{});
  ASSERT_TRUE(made) << made.error().message;
  UniqueFd set(*made);
  want.set_fd(set.get());  // Finish runs at the fd's own number.
  ASSERT_TRUE(finish_epoll(want));
  auto info = read_proc_fdinfo(::getpid(), set.get());
  ASSERT_TRUE(info) << info.error().message;
  image::Fd got;
  auto collected = collect_epoll(FdCollect{::getpid(), set.get(), *info}, got);
  ASSERT_TRUE(collected) << collected.error().message;
  ASSERT_EQ(got.epoll().targets_size(), 2);
  // The kernel adds EPOLLERR and EPOLLHUP to every watch (finish accepts them back).
  std::set<std::tuple<int, uint32_t, uint64_t>> a, b;
  for (const auto& t : want.epoll().targets()) a.insert({t.fd(), t.events() | EPOLLERR | EPOLLHUP, t.data()});
  for (const auto& t : got.epoll().targets()) b.insert({t.fd(), t.events(), t.data()});
  EXPECT_EQ(a, b);
}

TEST(EpollKind, ValidationNamesWatchesOfFdsTheProcessDoesNotHave) {
  image::Fd fd;
  fd.set_fd(3);
  fd.set_kind(image::FD_EPOLL);
  for (int target : {4, 3, 9, 4}) fd.mutable_epoll()->add_targets()->set_fd(target);
  fd.mutable_epoll()->mutable_targets(0)->set_events(EPOLLIN);
  std::vector<std::string> problems;
  validate_epoll(fd, {3, 4}, "fd 3", &problems);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0], "fd 3: epoll watch of fd 3: no such other fd in the process");
  EXPECT_EQ(problems[1], "fd 3: epoll watch of fd 9: no such other fd in the process");
  EXPECT_EQ(problems[2], "fd 3: epoll watch of fd 4 appears twice");
}

}  // namespace
}  // namespace cryo::state
