// Open files and signal state survive dump and restore.
#include <gtest/gtest.h>

#include <fstream>

#include "base/fault_injection.h"
#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

TEST(CheckpointFiles, PositionsFlagsAndAppendsContinue) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_files", {"--dir=" + session.dir().path()});
}

TEST(CheckpointAttributes, UmaskRlimitsAndCwdSurvive) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_attributes", {"--dir=" + session.dir().path()});
}

// Parent-death signal, timer slack, TSC mode, CPUID faulting, machine-check policy and name of each thread; THP
// disable, dumpable, subreaper, keepcaps, no_new_privs and personality of the process.
TEST(CheckpointAttributes, PrctlStateOfEveryThreadSurvives) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_prctl");
}

// Seccomp filters of a process and its thread (one that kills on calls cryo itself injects, so the
// dump and the restore must suspend them), still shared by both threads after restore (TSYNC
// works), while the init has none. Also with --leave-running --pre-copy, whose write tracking is
// injected before the freeze: the dumped tree runs on under them.
TEST(CheckpointAttributes, SeccompFiltersSurviveSharedByTheThreads) {
  {
    CheckpointSession session;
    session.expect_round_trip_passes("cr_seccomp");
  }
  CheckpointSession session;
  pid_t init = session.start("cr_seccomp");
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path(), {"--leave-running", "--pre-copy"}));
  session.expect_pass_after_check(init);
}

// The NUMA memory policy of each thread (interleave, preferred, local, bind, and the default in a
// thread of a process whose main thread has another), with its mode flags.
TEST(CheckpointAttributes, TheMemoryPolicyOfEveryThreadSurvives) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_mempolicy");
}

// A tree exec'd without address-space randomisation (setarch -R, a debugger) comes back so: its
// PF_RANDOMIZE flag stays clear and its next mapping lands where it would have (restore execs
// cryo-core again with ADDR_NO_RANDOMIZE, state/process/address_randomization.h).
TEST(CheckpointAttributes, ATreeWithoutAddressRandomizationKeepsItsLayout) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_address_layout", {"--unrandomized"});
}

// And a randomised tree stays randomised.
TEST(CheckpointAttributes, ARandomizedTreeStaysRandomized) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_address_layout");
}

TEST(CheckpointSignals, HandlersMasksPendingSignalsAndAltstackSurvive) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_signals");
}

// Every signal's disposition, the masks and the pending signals with their siginfo, after a
// restore (which rebuilds the process by injected syscalls) ...
TEST(CheckpointSignals, EverySignalsDispositionAndPendingSiginfoSurviveRestore) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_sigall");
}

// ... and after a dump that leaves the tree running (which inspects it by injected syscalls).
TEST(CheckpointSignals, EverySignalsDispositionAndPendingSiginfoSurviveDumpLeaveRunning) {
  CheckpointSession session;
  pid_t init = session.start("cr_sigall");
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path(), {"--leave-running", "--pre-copy"}));
  session.expect_pass_after_check(init);
}

TEST(CheckpointTimers, PosixTimersAndItimersKeepIdsNotificationsAndTimeLeft) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_timers");
}

// The tree is frozen during a dump, its timers are not, and the restored clocks continue from the
// freeze: a timer read 1.5 s after the freeze must come back with the time it had left at the
// freeze, not 1.5 s early (cr_timers allows 0.3 s).
TEST(CheckpointTimers, TimersReadLateInTheDumpComeBackWithTheTimeTheyHadAtTheFreeze) {
  ScopedEnv late(kTimerReadDelayVariable, "1500");
  CheckpointSession session;
  session.expect_round_trip_passes("cr_timers");
}

TEST(CheckpointTree, ZombiesKeepTheirStatusAndOrphansTheirNewParent) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_zombies");
}

// A lock lost at restore lets another process take it and write meanwhile, without a word.
TEST(CheckpointFiles, PosixOfdAndFlockLocksAreHeldAgain) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_locks", {"--dir=" + session.dir().path()});
}

TEST(CheckpointLimits, LimitsAndUmaskSurvive) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_limits");
}

// A daemon that dropped privileges: its limits cannot be read with prlimit64 without
// CAP_SYS_RESOURCE (which this machine kind lacks), and its ids must come back.
TEST(CheckpointLimits, AProcessOfAnotherUserKeepsItsIdsAndLimits) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_limits", {"--uid=65534", "--gid=65534"});
}

// A hard limit above what cryo may set (no CAP_SYS_RESOURCE, and a lower hard limit of its own) is
// refused by name, never restored lower than the process had.
TEST(CheckpointLimits, AHardLimitCryoCannotRaiseIsRefusedNotLowered) {
  CheckpointSession session;
  pid_t init = session.start("cr_limits");
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  auto result = restore_under_open_file_limit(session.image_path(), 250);
  expect_one_clear_error(result, "RLIMIT_NOFILE of 300");
  session.expect_nothing_left_running();
}

// An address-space limit that leaves no room for the page the dump maps to read a process's state
// is named in the refusal, with what to do; the tree runs on unharmed.
TEST(CheckpointLimits, AnAddressSpaceLimitWithNoRoomLeftIsNamedInTheRefusal) {
  CheckpointSession session;
  pid_t init = session.start("cr_limits", {"--tight-address-space=1"});
  ASSERT_GT(init, 0);
  auto dump = session.dump(init, session.image_path());
  expect_one_clear_error(dump, "its address-space limit (RLIMIT_AS, ");
  EXPECT_NE(dump.err.find("prlimit --as"), std::string::npos) << dump.err;
  EXPECT_FALSE(std::ifstream(session.image_path() + "/inventory.img").good()) << "a refused dump left an image";
  session.expect_pass_after_check(init);
}

}  // namespace
}  // namespace cryo::e2e
