// Files held open on namespaces (nsfs) come back on the restored tree's namespaces of their types:
// the tree's own new ones (pid, time, ipc, mnt, and uts with --hostname), the host's ones the tree
// shares (net, user, cgroup, and uts without); tests/workloads/cr_nsfs.c says what it holds and
// checks. A namespace the tree is not in is refused at dump (checkpoint_refusals_test.cc).
#include <gtest/gtest.h>

#include "e2e/checkpoint_harness.h"
#include "e2e/program_scripts.h"

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

// Python from Debian's packages, holding its network and PID namespaces open as a program that
// enters them later would: after restore each fd is the namespace the process is in, of its type.
constexpr const char* kNamespacePython = R"(
import fcntl, os, signal, time
NS_GET_NSTYPE = 0xb703
types = {"net": 0x40000000, "pid": 0x20000000, "mnt": 0x00020000}
held = {name: os.open("/proc/self/ns/" + name, os.O_RDONLY) for name in types}
loops = {"n": 0}
def check(signo, frame):
    problems = []
    for name, fd in held.items():
        if os.fstat(fd).st_ino != os.stat("/proc/self/ns/" + name).st_ino: problems.append("fd %d is not /proc/self/ns/%s" % (fd, name))
        if fcntl.ioctl(fd, NS_GET_NSTYPE) != types[name]: problems.append("fd %d is not a %s namespace" % (fd, name))
    if loops["n"] < 1: problems.append("the loop never ran")
    for p in problems: print("FAIL: " + p, flush=True)
    if not problems: print("PASS", flush=True)
    os._exit(1 if problems else 0)
signal.signal(signal.SIGUSR1, check)
print("READY", flush=True)
while True:
    os.fstat(held["net"])
    loops["n"] += 1
    time.sleep(0.01)
)";

TEST(CheckpointNamespaceFiles, Python3KeepsItsNamespaceFiles) {
  CheckpointSession session;
  expect_program_survives(session, {"/usr/bin/python3", write_script(session, "namespaces.py", kNamespacePython)});
}

}  // namespace
}  // namespace cryo::e2e
