// Anonymous-inode fds (eventfd, timerfd, signalfd, epoll) survive a checkpoint: each workload checks
// its own fds after restore (tests/workloads/cr_<kind>.c says what).
#include <gtest/gtest.h>

#include "base/fault_injection.h"
#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

// Start, dump, restore, and the workload's own check.
void dump_restore_check(const std::string& workload, const std::vector<std::string>& args = {},
                        const std::vector<std::string>& run_args = {}) {
  CheckpointSession session;
  session.expect_round_trip_passes(workload, args, {}, run_args);
}

TEST(CheckpointFdEventfd, CounterSemaphoreFlagsAndSharingSurvive) { dump_restore_check("cr_eventfd"); }

// The tree's clocks are hours off the host's, so an absolute timer converted with the wrong offset
// (or none) by restore's helper, which is outside the tree's time namespace, is far off.
TEST(CheckpointFdTimerfd, TimersFireOnTimeWithTheirIntervalAndPendingTicks) {
  dump_restore_check("cr_timerfd", {}, {"--monotonic", "2h", "--boottime", "3h"});
}

// The tree's clocks stop at the freeze, its timerfds do not: one whose fdinfo the dump reads 1.5 s
// after the freeze (the hidden delay comes before the process's timers and fds are read) must still
// fire when it would have at the freeze, not 1.5 s early (cr_timerfd allows 0.1 s).
TEST(CheckpointFdTimerfd, ATimerfdReadLateInTheDumpFiresWhenItWouldHaveAtTheFreeze) {
  ScopedEnv late(kTimerReadDelayVariable, "1500");
  dump_restore_check("cr_timerfd");
}

TEST(CheckpointFdSignalfd, MaskAndFlagsSurviveAndSignalsAfterRestoreArrive) { dump_restore_check("cr_signalfd"); }

TEST(CheckpointFdEpoll, WatchesWithEventsAndDataSurvive) { dump_restore_check("cr_epoll"); }

// pidfds of the holder, a running child, a zombie child and the parent name the same processes.
TEST(CheckpointFdPidfd, PidfdsOfTheHolderItsChildrenAndItsParentNameTheSameProcesses) { dump_restore_check("cr_pidfd"); }

// Sets inherited by fork stay one set, their watches added by the process that holds the files.
TEST(CheckpointFdEpoll, SetsSharedByForkStayOneSetWithTheirWatches) { dump_restore_check("cr_epoll_shared"); }

// A watch on a file whose fd was closed (a dup keeps the file, so the kernel keeps the watch) cannot
// be re-added by number: the dump names it and leaves the tree running and untouched.
TEST(CheckpointFdEpoll, AWatchOfAClosedFdIsRefusedAndTheTreeRunsOn) {
  for (bool leave_running : {false, true}) {
    CheckpointSession session;
    pid_t init = session.start("cr_epoll", {"--stale=1"});
    ASSERT_GT(init, 0);
    std::vector<std::string> extra;
    if (leave_running) extra.push_back("--leave-running");
    CommandResult result = session.dump(init, session.image_path(), extra);
    expect_one_clear_error(result, "fd 10 (anon_inode:[eventpoll]): an epoll set watches a file by a number that no longer holds it (fd 16 is closed");
    session.expect_pass_after_check(init);
  }
}

}  // namespace
}  // namespace cryo::e2e
