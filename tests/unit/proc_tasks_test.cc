#include "kernel/proc_tasks.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

namespace cryo {
namespace {

TEST(ProcTasks, ParsesTheChildrenFileFormat) {
  auto pids = parse_pid_list("12 15 3000 ");
  ASSERT_TRUE(pids);
  EXPECT_EQ(*pids, (std::vector<pid_t>{12, 15, 3000}));
  auto none = parse_pid_list("");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(parse_pid_list("12 x"));
}

TEST(ProcTasks, ListsALiveChild) {
  pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  ASSERT_GT(child, 0);
  auto children = list_children(::getpid());
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_TRUE(children) << children.error().message;
  EXPECT_NE(std::find(children->begin(), children->end(), child), children->end());
  auto threads = list_threads(::getpid());
  ASSERT_TRUE(threads);
  EXPECT_NE(std::find(threads->begin(), threads->end(), ::getpid()), threads->end());
}

}  // namespace
}  // namespace cryo
