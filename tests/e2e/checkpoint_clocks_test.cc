// The clocks of a restored time namespace follow the restore's clock policy: `freeze` continues
// from the checkpoint, `elapsed` adds the time that passed, `--shift` adds more; /proc/uptime of a
// tree started with a 49-day boottime keeps reading 49 days and counting.
#include <gtest/gtest.h>

#include <thread>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

constexpr auto kBetweenDumpAndRestore = std::chrono::seconds(2);

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

}  // namespace
}  // namespace cryo::e2e
