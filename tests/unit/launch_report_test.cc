#include "ns/launch_report.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/unique_fd.h"
#include "ns/signal_forwarder.h"

namespace cryo {
namespace {

struct Pipe {
  UniqueFd read, write;
  Pipe() {
    int fds[2];
    EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
    read.reset(fds[0]);
    write.reset(fds[1]);
  }
};

TEST(LaunchReport, PidRoundTrip) {
  Pipe pipe;
  ASSERT_TRUE(launch_report::write_init_pid(pipe.write.get(), 4242).has_value());
  pipe.write.reset();
  auto pid = launch_report::read_init_pid(pipe.read.get(), "helper");
  ASSERT_TRUE(pid.has_value()) << pid.error().message;
  EXPECT_EQ(*pid, 4242);
}

TEST(LaunchReport, ErrorRoundTripKeepsEveryField) {
  Pipe pipe;
  Error sent = make_error("the kernel refused a monotonic offset of -5s").with_hint("choose another").with_exit_status(3);
  sent.err = ERANGE;
  ASSERT_TRUE(launch_report::write_error(pipe.write.get(), sent).has_value());
  pipe.write.reset();
  auto pid = launch_report::read_init_pid(pipe.read.get(), "helper");
  ASSERT_FALSE(pid.has_value());
  EXPECT_EQ(pid.error().message, sent.message);
  EXPECT_EQ(pid.error().hint, sent.hint);
  EXPECT_EQ(pid.error().err, ERANGE);
  EXPECT_EQ(pid.error().exit_status, 3);
}

TEST(LaunchReport, SilentHelperIsAnError) {
  Pipe pipe;
  pipe.write.reset();
  auto pid = launch_report::read_init_pid(pipe.read.get(), "launcher helper");
  ASSERT_FALSE(pid.has_value());
  EXPECT_NE(pid.error().message.find("launcher helper exited without reporting"), std::string::npos);
}

TEST(LaunchReport, EndOfFileMeansExecSucceeded) {
  Pipe pipe;
  pipe.write.reset();
  auto failure = launch_report::read_init_failure(pipe.read.get());
  ASSERT_TRUE(failure.has_value());
  EXPECT_FALSE(failure->has_value());
}

TEST(LaunchReport, InitFailureRoundTrip) {
  Pipe pipe;
  launch_report::write_init_failure(pipe.write.get(), launch_report::InitStep::kExec, ENOENT);
  pipe.write.reset();
  auto failure = launch_report::read_init_failure(pipe.read.get());
  ASSERT_TRUE(failure.has_value());
  ASSERT_TRUE(failure->has_value());
  EXPECT_EQ((*failure)->step, launch_report::InitStep::kExec);
  EXPECT_EQ((*failure)->err, ENOENT);
}

TEST(ShellExitStatus, ExitCodeOrSignalPlus128) {
  pid_t child = fork();
  if (child == 0) _exit(7);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_EQ(shell_exit_status(status), 7);
  child = fork();
  if (child == 0) {
    for (;;) pause();
  }
  kill(child, SIGKILL);
  waitpid(child, &status, 0);
  EXPECT_EQ(shell_exit_status(status), 128 + SIGKILL);
}

}  // namespace
}  // namespace cryo
