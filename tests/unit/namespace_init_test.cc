// clone_namespace_init: the init `cryo run` and restore create is PID 1 of new PID and mount
// namespaces and sees the clocks it was asked for; the call is named with what was asked.
#include "ns/namespace_init.h"

#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "base/run_in_child.h"

namespace cryo {
namespace {

TEST(NamespaceInit, TheCallNamesWhatWasAsked) {
  NamespaceInitRequest run;
  run.own_ipc = true;
  EXPECT_EQ(namespace_init_call(run), "clone3(CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWIPC)");
  NamespaceInitRequest restore;
  restore.own_uts = true;
  restore.pid = 1;
  restore.sibling_of_caller = true;
  EXPECT_EQ(namespace_init_call(restore), "clone3(CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWUTS|CLONE_PARENT, set_tid={1})");
}

// The init reports from inside: its PID and how far its monotonic clock is ahead of the host's.
TEST(NamespaceInit, TheInitIsPidOneAndSeesItsClocks) {
  constexpr int64_t kAheadSeconds = 86400;
  // In a child of the test: unshare(CLONE_NEWTIME) changes the time namespace of the caller's
  // later children, which must not be the test's.
  auto report = run_in_child({.what = "intermediate"}, [](int out) {
    NamespaceInitRequest request;
    request.clocks.monotonic_ns = kAheadSeconds * 1'000'000'000;
    request.pid = 1;
    int64_t outside = clock_now_ns(CLOCK_MONOTONIC);
    auto init = clone_namespace_init(request);
    if (!init) {
      report_to_parent(out, init.error().message.data(), init.error().message.size());
      return 1;
    }
    if (*init == 0) {
      bool ahead = clock_now_ns(CLOCK_MONOTONIC) - outside >= (kAheadSeconds - 60) * 1'000'000'000;
      ::_exit(::getpid() != 1 ? 1 : !ahead ? 2 : 0);
    }
    int status = 0;
    while (::waitpid(*init, &status, 0) < 0 && errno == EINTR) {
    }
    std::string answer = describe_child_end(status);
    report_to_parent(out, answer.data(), answer.size());
    return 0;
  });
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(*report, "exited with status 0") << "1: not PID 1; 2: the clock offset is missing";
}

}  // namespace
}  // namespace cryo
