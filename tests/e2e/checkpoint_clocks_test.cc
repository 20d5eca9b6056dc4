// The clocks of a restored time namespace follow the restore's clock policy: `freeze` continues
// from the checkpoint, `elapsed` adds the time that passed, `--shift` adds more; /proc/uptime of a
// tree started with a 49-day boottime keeps reading 49 days and counting.
#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

constexpr auto kBetweenDumpAndRestore = std::chrono::seconds(2);

// cryo itself in a container whose clocks run 10 days ahead of the host's: `unshare --time` with
// both offsets, then the cryo command. The kernel applies a namespace's offsets to the host's
// clocks, so cryo must take its own offsets out of everything it computes.
std::vector<std::string> in_shifted_container(const std::vector<std::string>& cryo_args) {
  std::vector<std::string> argv = {"/usr/bin/unshare", "--time", "--fork", "--monotonic", "864000", "--boottime", "864000",
                                   CRYO_BINARY};
  argv.insert(argv.end(), cryo_args.begin(), cryo_args.end());
  return argv;
}

TEST(TimeNs, BoottimeContinuesAcrossRestore) {
  CheckpointSession session;
  constexpr long long k49Days = 49LL * 24 * 3600;
  pid_t init = session.start("cr_clocks", {"--min-uptime-s=" + std::to_string(k49Days), "--max-jump-ms=2000"},
                             {"--boottime", "49d"});
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

TEST(TimeNs, FreezeHidesTheTimeBetweenDumpAndRestore) {
  CheckpointSession session;
  pid_t init = session.start("cr_clocks", {"--max-jump-ms=999"});
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  std::this_thread::sleep_for(kBetweenDumpAndRestore);
  pid_t restored = session.restore_ok(session.image_path(), {"--clock", "freeze"});
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

TEST(TimeNs, ElapsedAddsTheTimeBetweenDumpAndRestore) {
  CheckpointSession session;
  pid_t init = session.start("cr_clocks", {"--min-jump-ms=2000", "--max-jump-ms=10000"});
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  std::this_thread::sleep_for(kBetweenDumpAndRestore);
  pid_t restored = session.restore_ok(session.image_path(), {"--clock", "elapsed"});
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

TEST(TimeNs, ShiftMovesFrozenClocksForward) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_clocks", {"--min-jump-ms=30000", "--max-jump-ms=32000"},
                                   {"--clock", "freeze", "--shift", "30s"});
}

TEST(TimeNs, RestoreFromAContainerWithShiftedClocksContinues) {
  CheckpointSession session;
  pid_t init = session.start("cr_clocks", {"--max-jump-ms=2000"});
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  auto result = run_command(in_shifted_container({"restore", "-D", session.image_path(), "--detach"}));
  pid_t restored = static_cast<pid_t>(std::atoi(result.out.c_str()));
  if (restored > 0) session.own(restored);
  ASSERT_EQ(result.status, 0) << result.err;
  ASSERT_GT(restored, 0) << result.out;
  session.expect_pass_after_check(restored);
}

TEST(TimeNs, DumpFromAContainerWithShiftedClocksRecordsTheTreesClocks) {
  CheckpointSession session;
  pid_t init = session.start("cr_clocks", {"--max-jump-ms=2000"});
  ASSERT_GT(init, 0);
  auto result = run_command(in_shifted_container({"dump", "-t", std::to_string(init), "-D", session.image_path()}));
  ASSERT_EQ(result.status, 0) << result.err;
  ASSERT_TRUE(wait_for_exit(init));
  session.disown_exited(init);
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

TEST(TimeNs, RunFromAContainerWithShiftedClocksGivesTheAskedUptime) {
  auto result = run_command(in_shifted_container({"run", "--uptime", "49d", "--", "cat", "/proc/uptime"}));
  ASSERT_EQ(result.status, 0) << result.err;
  double uptime = std::atof(result.out.c_str());
  EXPECT_GE(uptime, 49.0 * 86400) << result.out;
  EXPECT_LT(uptime, 49.0 * 86400 + 60) << result.out;
}

}  // namespace
}  // namespace cryo::e2e
