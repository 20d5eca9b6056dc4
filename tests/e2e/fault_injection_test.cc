// Failure at every step: CRYO_FAIL_AT=<step> (src/base/fault_injection.h, a hidden switch for
// tests) makes dump or restore fail at that named step. The tests take the steps from
// cryo::fault_steps(), the list the code itself checks its fault points against, so no step can be
// left out. After each failure: one clear error line and a non-zero exit; for dump, the tree runs on
// untouched and passes its own check at the end, and no image directory looks complete; for
// restore, no process cryo created is left.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "base/fault_injection.h"
#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

namespace fs = std::filesystem;

// Sets CRYO_FAIL_AT for the commands this test runs (they inherit the environment).
class FailAt {
 public:
  explicit FailAt(std::string_view step) : env_(kFailAtVariable, std::string(step)) {}

 private:
  ScopedEnv env_;
};

std::vector<std::string> steps_of(std::string_view command) {
  std::vector<std::string> steps;
  for (std::string_view step : fault_steps())
    if (step.starts_with(command)) steps.emplace_back(step);
  return steps;
}

// A process of the tree runs on: alive, neither traced nor stopped.
void expect_running_untraced(pid_t pid) {
  std::string status = slurp("/proc/" + std::to_string(pid) + "/status");
  ASSERT_FALSE(status.empty()) << "pid " << pid << " is gone";
  EXPECT_NE(status.find("TracerPid:\t0\n"), std::string::npos) << "pid " << pid << " is left traced:\n" << status;
  EXPECT_EQ(status.find("State:\tt"), std::string::npos) << "pid " << pid << " is left in a ptrace stop";
  EXPECT_EQ(status.find("State:\tT"), std::string::npos) << "pid " << pid << " is left stopped";
  EXPECT_EQ(status.find("State:\tZ"), std::string::npos) << "pid " << pid << " died";
}

// Every process of the tree below (and including) `init`.
std::vector<pid_t> tree_of(pid_t init) {
  std::vector<pid_t> all = {init};
  for (size_t i = 0; i < all.size(); ++i)
    for (pid_t child : children_of(all[i])) all.push_back(child);
  return all;
}

// Nothing in the session's directory looks like a complete image: no inventory anywhere, no
// temporary directory left, and a failed dump's directory holds at most its log.
void expect_no_image(const CheckpointSession& session, const std::string& image) {
  for (const auto& entry : fs::directory_iterator(session.dir().path())) {
    std::string name = entry.path().filename();
    EXPECT_EQ(name.find(".cryo-tmp-"), std::string::npos) << "temporary directory left: " << name;
    if (!entry.is_directory()) continue;
    EXPECT_FALSE(fs::exists(entry.path() / "inventory.img")) << entry.path() << " looks complete";
  }
  if (!fs::exists(image)) return;
  for (const auto& entry : fs::directory_iterator(image))
    EXPECT_EQ(entry.path().filename(), "dump.log") << "a failed dump left " << entry.path();
}

TEST(FaultInjection, EveryStepIsListedOnceAndBothCommandsHaveSteps) {
  std::set<std::string_view> unique(fault_steps().begin(), fault_steps().end());
  EXPECT_EQ(unique.size(), fault_steps().size());
  EXPECT_GE(steps_of("dump:").size(), 5u);
  EXPECT_GE(steps_of("restore:").size(), 5u);
  EXPECT_EQ(steps_of("lazy:").size(), 2u);
  EXPECT_EQ(steps_of("dump:").size() + steps_of("restore:").size() + steps_of("lazy:").size(), fault_steps().size());
}

TEST(FaultInjection, DumpFailingAtAnyStepLeavesTheTreeRunningAndNoImage) {
  CheckpointSession session;
  pid_t init = session.start("cr_tree");
  ASSERT_GT(init, 0);
  std::vector<pid_t> tree = tree_of(init);
  ASSERT_EQ(tree.size(), 5u);
  int attempt = 0;
  for (const std::string& step : steps_of("dump:")) {
    for (bool leave_running : {true, false}) {
      // With --leave-running the dump pre-copies, and its own step exists only then.
      if (step == "dump:pre-copy-round" && !leave_running) continue;
      SCOPED_TRACE(step + (leave_running ? " with --leave-running --pre-copy" : ""));
      std::string image = session.image_path("image-" + std::to_string(attempt++));
      CommandResult result;
      {
        FailAt fail_at(step);
        result = session.dump(init, image, leave_running ? std::vector<std::string>{"--leave-running", "--pre-copy"} : std::vector<std::string>{});
      }
      expect_one_clear_error(result, "injected failure at " + step);
      for (pid_t pid : tree) expect_running_untraced(pid);
      // No write tracking is left behind (VmFlags uw: registered with a userfaultfd).
      for (pid_t pid : tree)
        EXPECT_EQ(slurp("/proc/" + std::to_string(pid) + "/smaps").find(" uw "), std::string::npos) << "pid " << pid << " is left tracked";
      expect_no_image(session, image);
      // The failure is explained in the log kept where the image would have been.
      EXPECT_NE(slurp(image + "/dump.log").find("injected failure at " + step), std::string::npos);
      if (::testing::Test::HasFailure()) return;
    }
  }
  // The switch is off again: the same tree dumps, and it is unharmed by all of the above.
  ASSERT_TRUE(session.dump_ok(init, session.image_path(), {"--leave-running"}));
  session.expect_pass_after_check(init);
}

// Fails a restore of `workload` at every restore step with both PID methods; then restores it for real.
void expect_every_restore_fault_leaves_nothing(const std::string& workload, const std::vector<std::string>& args) {
  CheckpointSession session;
  pid_t init = session.start(workload, args);
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  for (const std::string& step : steps_of("restore:")) {
    for (const std::string& method : pid_methods()) {
      SCOPED_TRACE(workload + ": " + step + " with --pid-method " + method);
      CommandResult result;
      {
        FailAt fail_at(step);
        result = session.restore(session.image_path(), {"--pid-method", method});
      }
      expect_one_clear_error(result, "injected failure at " + step);
      EXPECT_TRUE(result.out.empty()) << "restore printed a PID: " << result.out;
      // Processes cryo created carry the image directory in their command line; the test owns none yet.
      session.expect_nothing_left_running();
      if (::testing::Test::HasFailure()) return;
    }
  }
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

TEST(FaultInjection, RestoreFailingAtAnyStepLeavesNothingRunning) {
  // Two processes, and no pipe to outside the tree (restore warns about those on stderr).
  expect_every_restore_fault_leaves_nothing("cr_memory", {"--mib=4"});
}

// Threads are traced by cryo too, and must be reaped by it on every failure path.
TEST(FaultInjection, RestoreOfAMultithreadedProcessFailingAtAnyStepLeavesNothingRunning) {
  expect_every_restore_fault_leaves_nothing("cr_threads", {});
}

// restore --lazy: every restore step, and the page server's before the release, leave nothing behind
// (the page server included); a server that fails once the tree runs kills it.
TEST(FaultInjection, LazyRestoreFailingAtAnyStepLeavesNothingRunning) {
  CheckpointSession session;
  pid_t init = session.start("cr_memory", {"--mib=16"});
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  std::vector<std::string> steps = steps_of("restore:");
  steps.push_back("lazy:registered");
  for (const std::string& step : steps) {
    SCOPED_TRACE("--lazy: " + step);
    CommandResult result;
    {
      FailAt fail_at(step);
      result = session.restore(session.image_path(), {"--lazy"});
    }
    expect_one_clear_error(result, "injected failure at " + step);
    EXPECT_TRUE(result.out.empty()) << "restore printed a PID: " << result.out;
    session.expect_nothing_left_running();
    if (::testing::Test::HasFailure()) return;
  }
  CommandResult served;
  {
    FailAt fail_at("lazy:serving");
    served = session.restore(session.image_path(), {"--lazy"});
  }
  // The background page server fails at once and the tree dies with it, possibly before this
  // restore returns: restore_ok's check that the init still runs would race with what this tests.
  ASSERT_EQ(served.status, 0) << "cryo restore failed: " << served.err;
  pid_t restored = static_cast<pid_t>(std::atol(served.out.c_str()));
  ASSERT_GT(restored, 0) << "cryo restore --detach printed '" << served.out << "'; stderr: " << served.err;
  session.own(restored);
  EXPECT_TRUE(wait_for_exit(restored, std::chrono::milliseconds(20000))) << "the tree outlived its failed page server";
  EXPECT_NE(slurp(session.image_path() + "/restore.log").find("injected failure at lazy:serving"), std::string::npos);
  session.disown_exited(restored);
  session.expect_nothing_left_running();
}

}  // namespace
}  // namespace cryo::e2e
