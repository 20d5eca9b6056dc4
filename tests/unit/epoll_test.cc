// epoll (state/files/epoll.h): a set made by install and given its watches by finish is what
// collect reads back from fdinfo; a set shared with a child gets its watches from the process that
// still holds the watched file; validation names watches of fds the process does not have, and a
// shared set whose watches no process or two would add.
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
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

image::Fd shared_set(int number, int target) {
  image::Fd fd;
  fd.set_fd(number);
  fd.set_kind(image::FD_EPOLL);
  fd.set_open_file_id(1);
  fd.mutable_epoll()->add_targets()->set_fd(target);
  return fd;
}

TEST(EpollKind, ASetSharedWithAChildGetsItsWatchesFromTheProcessThatHoldsTheFile) {
  UniqueFd set(::epoll_create1(EPOLL_CLOEXEC));
  UniqueFd watched(::eventfd(0, EFD_CLOEXEC));
  ASSERT_TRUE(set.valid() && watched.valid());
  epoll_event event{.events = EPOLLIN, .data = {.u64 = 5}};
  ASSERT_EQ(::epoll_ctl(set.get(), EPOLL_CTL_ADD, watched.get(), &event), 0);
  int hold[2];
  ASSERT_EQ(::pipe(hold), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(hold[1]);
    char byte;
    (void)!::read(hold[0], &byte, 1);  // Holds both fds until the test is done.
    ::_exit(0);
  }
  ::close(hold[0]);
  int target = watched.get();
  watched.reset();  // The child's fd keeps the file, and so the watch.
  std::map<pid_t, image::ProcessFiles> files;
  *files[::getpid()].add_fds() = shared_set(set.get(), target);
  *files[child].add_fds() = shared_set(set.get(), target);
  auto chosen = choose_epoll_watch_holders(files);
  ::close(hold[1]);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  ASSERT_TRUE(chosen) << chosen.error().message;
  EXPECT_TRUE(files[::getpid()].fds(0).epoll().watches_added_elsewhere()) << "this process no longer has fd " << target;
  EXPECT_FALSE(files[child].fds(0).epoll().watches_added_elsewhere());
}

TEST(EpollKind, ASetNoHolderCanAddAgainIsRefused) {
  UniqueFd set(::epoll_create1(EPOLL_CLOEXEC));
  UniqueFd watched(::eventfd(0, EFD_CLOEXEC));
  ASSERT_TRUE(set.valid() && watched.valid());
  epoll_event event{.events = EPOLLIN, .data = {.u64 = 5}};
  ASSERT_EQ(::epoll_ctl(set.get(), EPOLL_CTL_ADD, watched.get(), &event), 0);
  UniqueFd other(::dup(watched.get()));
  int target = watched.get();
  watched.reset();
  std::map<pid_t, image::ProcessFiles> files;
  image::Fd fd = shared_set(set.get(), target);
  fd.set_open_file_id(0);
  *files[::getpid()].add_fds() = fd;
  auto chosen = choose_epoll_watch_holders(files);
  ASSERT_FALSE(chosen);
  EXPECT_NE(chosen.error().message.find("(fd " + std::to_string(target) + " is closed;"), std::string::npos) << chosen.error().message;
}

TEST(EpollKind, ValidationWantsOneProcessToAddASharedSetsWatches) {
  ImageSet set;
  for (pid_t pid : {1, 2}) {
    ProcessImage process;
    process.entry.set_pid(static_cast<uint32_t>(pid));
    *process.files.add_fds() = shared_set(3, 4);
    set.processes.push_back(process);
  }
  std::vector<std::string> problems;
  validate_epoll_watch_holders(set, &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "epoll set of open file 1 has its watches added by 2 processes, not one");
  set.processes[0].files.mutable_fds(0)->mutable_epoll()->set_watches_added_elsewhere(true);
  problems.clear();
  validate_epoll_watch_holders(set, &problems);
  EXPECT_TRUE(problems.empty()) << problems[0];
  // The holder that adds none is not asked to have the watched fds.
  validate_epoll(set.processes[0].files.fds(0), {3}, "fd 3", &problems);
  EXPECT_TRUE(problems.empty()) << problems[0];
  set.processes[1].files.mutable_fds(0)->mutable_epoll()->set_watches_added_elsewhere(true);
  validate_epoll_watch_holders(set, &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "epoll set of open file 1 has its watches added by 0 processes, not one");
}

}  // namespace
}  // namespace cryo::state
