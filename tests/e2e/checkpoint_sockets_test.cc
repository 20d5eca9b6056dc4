// Unix socketpairs held inside the tree survive a checkpoint with their queued data (cr_socketpair.c
// checks itself). Sockets cryo cannot restore (listening, bound, INET ...) are refused at dump with one line that
// names the fd and the kind of socket, and the tree is left running and untouched, with or without
// --leave-running.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>

#include "base/unique_fd.h"

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

// `kind` may name the session's directory as "DIR".
void expect_refused(const std::string& mode, const std::string& kind, const std::string& also = "") {
  for (bool leave_running : {false, true}) {
    SCOPED_TRACE(mode + (leave_running ? " with --leave-running" : ""));
    CheckpointSession session;
    std::string dir = session.dir().path();
    // A listener outside the tree for "outside" to connect to.
    UniqueFd outside(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s/outside.sock", dir.c_str());
    ASSERT_EQ(::bind(outside.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::listen(outside.get(), 4), 0);
    pid_t init = session.start("cr_sockets", {"--mode=" + mode, "--dir=" + dir});
    ASSERT_GT(init, 0);
    // The workload connected before READY; its peer is then a socket outside the tree.
    UniqueFd accepted(mode == "outside" ? ::accept4(outside.get(), nullptr, nullptr, SOCK_CLOEXEC) : -1);
    std::vector<std::string> extra;
    if (leave_running) extra.push_back("--leave-running");
    CommandResult result = session.dump(init, session.image_path(), extra);
    std::string named = kind;
    if (auto at = named.find("DIR"); at != std::string::npos) named.replace(at, 3, dir);
    expect_one_clear_error(result, "fd 10 (socket:[");
    expect_one_clear_error(result, "is " + named);
    if (!also.empty()) expect_one_clear_error(result, also);
    expect_one_clear_error(result, ", which cryo cannot dump yet");
    session.expect_pass_after_check(init);
  }
}

// With their options (priority, mark, timeouts: state/files/socket_options.h).
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

// A server's control sockets: listeners on a path (mode 0660, a group of its own) and an abstract
// name, one whose file was unlinked after bind, and the connections they accepted from a client of
// the tree, with unread data both ways; a new client connects to both named ones after the restore.
TEST(CheckpointFdSockets, UnixListenersAndTheirAcceptedConnectionsComeBackOnTheirNames) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_unix_listen", {"--dir=" + session.dir().path()});
}

// The dumped tree is gone, its socket file stays: restore unlinks it since nobody answers there;
// a file a live listener answers on, or an abstract name in use, is refused by name.
TEST(CheckpointFdSockets, AStaleSocketFileIsReplacedAndALiveListenerThereIsRefused) {
  CheckpointSession session;
  std::string dir = session.dir().path();
  pid_t init = session.start("cr_unix_listen", {"--dir=" + dir});
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  struct stat st;
  ASSERT_EQ(::lstat((dir + "/ctl.sock").c_str(), &st), 0) << "the dumped tree's socket file should stay";
  // Someone else listens on the path meanwhile: refused, naming the path.
  {
    ASSERT_EQ(::unlink((dir + "/ctl.sock").c_str()), 0);
    UniqueFd squatter(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s/ctl.sock", dir.c_str());
    ASSERT_EQ(::bind(squatter.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::listen(squatter.get(), 1), 0);
    CommandResult refused = session.restore(session.image_path());
    expect_one_clear_error(refused, dir + "/ctl.sock: a live socket answers there");
  }
  // The abstract namespace is the host's: a name taken there is refused, by name.
  {
    UniqueFd squatter(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    int n = std::snprintf(address.sun_path + 1, sizeof address.sun_path - 1, "cr_unix_listen:%s", dir.c_str());
    socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
    ASSERT_EQ(::bind(squatter.get(), reinterpret_cast<sockaddr*>(&address), length), 0);
    CommandResult refused = session.restore(session.image_path());
    expect_one_clear_error(refused, "unix listener @cr_unix_listen:" + dir + ": Address already in use (abstract names are per network namespace");
  }
  // The squatter closed: its file is stale now, and the restore replaces it.
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

TEST(CheckpointFdSockets, AUnixListenerWithAConnectionWaitingIsRefusedAndTheTreeRunsOn) {
  expect_refused("listen", "a listening AF_UNIX SOCK_STREAM socket bound to 'DIR/listen.sock' with 1 connections waiting to be accepted");
}

TEST(CheckpointFdSockets, AUnixListenerBoundToARelativePathIsRefused) {
  expect_refused("relative", "a listening AF_UNIX SOCK_STREAM socket bound to 'listen.sock', a relative path");
}

TEST(CheckpointFdSockets, AUnixListenerWithPasscredIsRefused) {
  expect_refused("passcred", "a listening AF_UNIX SOCK_STREAM socket bound to 'DIR/listen.sock' with SO_PASSCRED set");
}

TEST(CheckpointFdSockets, AUnixClientBoundBeforeConnectingIsRefused) {
  expect_refused("boundclient", "an AF_UNIX SOCK_STREAM socket bound to 'DIR/client.sock', and no process of the tree holds a listener");
}

TEST(CheckpointFdSockets, AUnixConnectionToAListenerOutsideTheTreeIsRefused) {
  expect_refused("outside", "an AF_UNIX SOCK_STREAM socket connected to socket ", ", which no process of the tree holds");
}

TEST(CheckpointFdSockets, ASocketpairEndThatIsShutDownIsRefused) {
  expect_refused("halfshut", "an AF_UNIX SOCK_STREAM socket that is shut down");
}

TEST(CheckpointFdSockets, ASocketWithAnFdInFlightIsRefused) {
  expect_refused("scm", "an AF_UNIX SOCK_DGRAM socket with 1 fds in flight (SCM_RIGHTS)");
}

TEST(CheckpointFdSockets, AnInetSocketIsRefusedAndTheTreeRunsOn) { expect_refused("inet", "an AF_INET SOCK_DGRAM socket bound to 127.0.0.1:"); }

}  // namespace
}  // namespace cryo::e2e
