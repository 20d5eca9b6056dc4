// run_in_child: the report of a child that exits with 0 comes back whole; a child that fails,
// dies of a signal or says too much is an error that tells which, and the child is always reaped.
#include "base/run_in_child.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

namespace cryo {
namespace {

void expect_no_child_left() {
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(RunInChild, ReturnsTheReportOfAChildThatExitsWithZero) {
  auto report = run_in_child({.what = "test child", .max_report = 10000}, [](int out) {
    // Larger than one pipe read, so that the parent reads until the end; exactly the bound.
    std::string text(10000, 'x');
    report_to_parent(out, text.data(), text.size());
    return 0;
  });
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(*report, std::string(10000, 'x'));
  expect_no_child_left();
}

TEST(RunInChild, AnEmptyReportIsAnAnswer) {
  auto report = run_in_child({.what = "test child"}, [](int) { return 0; });
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(*report, "");
}

TEST(RunInChild, TheChildDoesNotChangeTheParent) {
  pid_t parent = ::getpid();
  auto report = run_in_child({.what = "test child"}, [parent](int out) {
    std::string pid = std::to_string(::getpid() == parent ? 0 : ::getpid());
    report_to_parent(out, pid.data(), pid.size());
    return 0;
  });
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_NE(*report, "0");
}

TEST(RunInChild, ANonZeroExitNamesTheStatusAndQuotesTheReport) {
  auto report = run_in_child({.what = "test child"}, [](int out) {
    report_to_parent(out, "half\x01", 5);
    return 3;
  });
  ASSERT_FALSE(report);
  EXPECT_NE(report.error().message.find("test child (pid "), std::string::npos) << report.error().message;
  EXPECT_NE(report.error().message.find("exited with status 3, reporting \"half\\x01\""), std::string::npos)
      << report.error().message;
  expect_no_child_left();
}

TEST(RunInChild, ADeathBySignalIsNamed) {
  auto report = run_in_child({.what = "test child"}, [](int) {
    ::raise(SIGKILL);
    return 0;
  });
  ASSERT_FALSE(report);
  EXPECT_NE(report.error().message.find("was killed by signal 9"), std::string::npos) << report.error().message;
  EXPECT_NE(report.error().message.find("without a report"), std::string::npos) << report.error().message;
  expect_no_child_left();
}

TEST(RunInChild, AReportLongerThanTheBoundIsRefused) {
  auto report = run_in_child({.what = "test child", .max_report = 8}, [](int out) {
    report_to_parent(out, "123456789", 9);
    return 0;
  });
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().err, EMSGSIZE);
  EXPECT_NE(report.error().message.find("longer than 8 bytes"), std::string::npos) << report.error().message;
  expect_no_child_left();
}

TEST(RunInChild, AChildThatKeepsWritingAfterTheBoundStillEnds) {
  auto report = run_in_child({.what = "test child", .max_report = 16}, [](int out) {
    std::string block(4096, 'y');
    for (;;) report_to_parent(out, block.data(), block.size());
    return 0;
  });
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().err, EMSGSIZE);
  expect_no_child_left();
}

TEST(RunInChild, AFailedForkNamesTheCall) {
  ChildJob job{.what = "test child"};
  job.fork = [] {
    errno = EAGAIN;
    return static_cast<pid_t>(-1);
  };
  job.fork_call = "clone3(CLONE_NEWPID)";
  auto report = run_in_child(job, [](int) { return 0; });
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().err, EAGAIN);
  EXPECT_EQ(report.error().message.rfind("test child: clone3(CLONE_NEWPID): ", 0), 0u) << report.error().message;
}

}  // namespace
}  // namespace cryo
