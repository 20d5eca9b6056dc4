// Files held open on namespaces (nsfs) come back on the restored tree's namespaces of their types:
// the tree's own new ones (pid, time, ipc, mnt, and uts with --hostname), the host's ones the tree
// shares (net, user, cgroup, and uts without); tests/workloads/cr_nsfs.c says what it holds and
// checks. A namespace the tree is not in is refused at dump (checkpoint_refusals_test.cc).
#include <gtest/gtest.h>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

TEST(CheckpointNamespaceFiles, EachComesBackOnTheRestoredTreesNamespaceOfItsType) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_nsfs");
}

// A child forked after the opens shares the init's open files, and its own open of the init's
// /proc/1/ns/ipc is another open file: both come back so, with either way of making PIDs.
TEST(CheckpointNamespaceFiles, OpenFilesSharedWithAChildAreSharedAgain) {
  for (const std::string& method : pid_methods()) {
    SCOPED_TRACE(method);
    CheckpointSession session;
    session.expect_round_trip_passes("cr_nsfs", {"--fork"}, {"--pid-method", method});
  }
}

// With a hostname the tree has its own UTS namespace, and its file is the restored tree's new one.
TEST(CheckpointNamespaceFiles, AUtsNamespaceOfTheTreesOwnIsTheRestoredOne) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_nsfs", {}, {}, {"--hostname", "nsfs-tree"});
}

}  // namespace
}  // namespace cryo::e2e
