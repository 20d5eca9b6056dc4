// Unix socketpairs held inside the tree survive a checkpoint with their queued data (cr_socketpair.c
// checks itself). Sockets cryo cannot restore (listening, bound, INET ...) are refused at dump with one line that
// names the fd and the kind of socket, and the tree is left running and untouched, with or without
// --leave-running.
#include <gtest/gtest.h>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

void expect_refused(const std::string& mode, const std::string& kind) {
  for (bool leave_running : {false, true}) {
    SCOPED_TRACE(mode + (leave_running ? " with --leave-running" : ""));
    CheckpointSession session;
    pid_t init = session.start("cr_sockets", {"--mode=" + mode, "--dir=" + session.dir().path()});
    ASSERT_GT(init, 0);
    std::vector<std::string> extra;
    if (leave_running) extra.push_back("--leave-running");
    CommandResult result = session.dump(init, session.image_path(), extra);
    expect_one_clear_error(result, "fd 10 (socket:[");
    expect_one_clear_error(result, "is " + kind);
    expect_one_clear_error(result, ", which cryo cannot dump yet");
    session.expect_pass_after_check(init);
  }
}

TEST(CheckpointFdSockets, SocketpairsKeepTheirQueuesBoundariesAndPeers) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_socketpair");
}

// The JDK keeps a socketpair end whose peer it closed at start-up; such ends keep their queue and
// the closed peer (end-of-file, EPIPE, a pending ECONNRESET).
TEST(CheckpointFdSockets, EndsWhosePeerClosedKeepTheirQueueAndState) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_socket_orphans");
}

TEST(CheckpointFdSockets, ListeningTcpSocketsComeBackOnTheirAddressesSharedAndAccepting) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_listen");
}

TEST(CheckpointFdSockets, AListeningUnixSocketIsRefusedAndTheTreeRunsOn) {
  expect_refused("listen", "a listening AF_UNIX SOCK_STREAM socket");
}

TEST(CheckpointFdSockets, ASocketpairEndThatIsShutDownIsRefused) {
  expect_refused("halfshut", "an AF_UNIX SOCK_STREAM socket that is shut down");
}

TEST(CheckpointFdSockets, ASocketWithAnFdInFlightIsRefused) {
  expect_refused("scm", "an AF_UNIX SOCK_DGRAM socket with 1 fds in flight (SCM_RIGHTS)");
}

TEST(CheckpointFdSockets, AnInetSocketIsRefusedAndTheTreeRunsOn) { expect_refused("inet", "an AF_INET SOCK_DGRAM socket"); }

}  // namespace
}  // namespace cryo::e2e
