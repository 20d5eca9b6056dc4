// A process's memory, live registers, PIDs and clocks survive dump and restore, and a tree of five
// processes keeps its shape and its pipes' unread data; both with each restore PID method. A tree
// without vdso mappings comes back without them.
#include <gtest/gtest.h>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

// Parametrized by --pid-method.
class CheckpointRestore : public ::testing::TestWithParam<std::string> {};

TEST_P(CheckpointRestore, MemoryRegistersAndPidsSurvive) {
  CheckpointSession session;
  // cr_memory: 64 MiB of xorshift data, r12/r15/xmm10/ymm8 live in a spin loop, init and child
  // PIDs, clocks allowed to jump at most 2 s under the default freeze policy.
  session.expect_round_trip_passes("cr_memory", {"--mib=64", "--max-jump-ms=2000"}, {"--pid-method", GetParam()});
}

TEST_P(CheckpointRestore, TreeOfFiveKeepsIdsSessionsAndPipeData) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_tree", {}, {"--pid-method", GetParam()});
}

// cr_no_vdso unmaps its vdso mappings (as valgrind does): cryo runs its syscalls in it from a
// syscall instruction of its text, and the restore leaves this kernel's vdso out.
TEST(CheckpointMemory, ProcessesWithoutVdsoMappingsComeBackWithout) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_no_vdso");
}

INSTANTIATE_TEST_SUITE_P(PidMethods, CheckpointRestore, ::testing::ValuesIn(pid_methods()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace cryo::e2e
