// AF_UNIX datagram sockets: receivers bound to a path or an abstract name, senders connected to
// them (several to one, one connected back), a socketpair end bound afterwards, with their queued
// datagrams and each one's sender (cr_unix_dgram.c checks itself). What cannot come back exactly (a
// receiver outside the tree, a datagram from a named sender outside it, SO_PASSCRED) is refused at
// dump with one line naming it, and the tree runs on.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstring>

#include "base/unique_fd.h"

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

UniqueFd bound_datagram_socket(const std::string& path) {
  UniqueFd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
  ::unlink(path.c_str());
  EXPECT_EQ(::bind(sock.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0) << path << ": " << std::strerror(errno);
  return sock;
}

TEST(CheckpointUnixDgram, BoundAndConnectedDatagramSocketsComeBackWithTheirQueuesAndSenders) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_unix_dgram", {"--dir=" + session.dir().path()});
}

// The dumped tree is gone, its socket files stay: restore replaces the stale ones, and the image
// restores a second time once the first copy is gone.
TEST(CheckpointUnixDgram, AStaleSocketFileIsReplacedAndALiveReceiverThereIsRefused) {
  CheckpointSession session;
  std::string dir = session.dir().path();
  pid_t init = session.start("cr_unix_dgram", {"--dir=" + dir});
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  {
    UniqueFd squatter = bound_datagram_socket(dir + "/log.sock");
    CommandResult refused = session.restore(session.image_path());
    expect_one_clear_error(refused, dir + "/log.sock: a live socket answers there");
  }
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

// `mode` of cr_unix_dgram; `before_dump` runs once the workload is READY.
void expect_refused(const std::string& mode, const std::string& what, void (*before_dump)(const std::string& dir) = nullptr) {
  for (bool leave_running : {false, true}) {
    SCOPED_TRACE(mode + (leave_running ? " with --leave-running" : ""));
    CheckpointSession session;
    std::string dir = session.dir().path();
    // A receiver outside the tree, as the host's /dev/log is, for "outside" to connect to.
    UniqueFd outside = bound_datagram_socket(dir + "/outside.sock");
    pid_t init = session.start("cr_unix_dgram", {"--mode=" + mode, "--dir=" + dir});
    ASSERT_GT(init, 0);
    if (before_dump) before_dump(dir);
    std::vector<std::string> extra;
    if (leave_running) extra.push_back("--leave-running");
    CommandResult result = session.dump(init, session.image_path(), extra);
    std::string named = what;
    for (auto at = named.find("DIR"); at != std::string::npos; at = named.find("DIR")) named.replace(at, 3, dir);
    expect_one_clear_error(result, "fd 10 (socket:[");
    expect_one_clear_error(result, named);
    expect_one_clear_error(result, ", which cryo cannot dump yet");
    // The workload reads what the outside receiver got, or the foreign datagram, itself.
    session.expect_pass_after_check(init);
    if (mode == "outside") {
      char buffer[64] = {};
      ssize_t n = ::recv(outside.get(), buffer, sizeof buffer, MSG_DONTWAIT);
      EXPECT_EQ(std::string(buffer, n > 0 ? n : 0), "still connected");
    }
  }
}

TEST(CheckpointUnixDgram, ASocketConnectedToAReceiverOutsideTheTreeIsRefusedNamingItsPath) {
  expect_refused("outside", "is an AF_UNIX SOCK_DGRAM socket connected to DIR/outside.sock outside the tree");
}

TEST(CheckpointUnixDgram, ADatagramFromANamedSenderOutsideTheTreeIsRefusedNamingIt) {
  expect_refused("foreign",
                 "is an AF_UNIX SOCK_DGRAM socket bound to 'DIR/log.sock' with a datagram queued from 'DIR/foreign.sock', which no datagram "
                 "socket of the tree is bound to",
                 [](const std::string& dir) {
                   UniqueFd foreign = bound_datagram_socket(dir + "/foreign.sock");
                   sockaddr_un to{};
                   to.sun_family = AF_UNIX;
                   std::snprintf(to.sun_path, sizeof to.sun_path, "%s/log.sock", dir.c_str());
                   const char text[] = "from outside";
                   ASSERT_EQ(::sendto(foreign.get(), text, sizeof text - 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 12);
                   // The datagram keeps the name it was sent from while its sender lives.
                   static UniqueFd keep;
                   keep = std::move(foreign);
                 });
}

TEST(CheckpointUnixDgram, ABoundDatagramSocketWithPasscredIsRefused) {
  expect_refused("passcred", "is an AF_UNIX SOCK_DGRAM socket bound to 'DIR/log.sock' with SO_PASSCRED set");
}

// A peek marks a zero-length datagram, and the next peek at an offset steps over it: the dump's
// second pass would lose it. Refused at the first, and still there for the tree.
TEST(CheckpointUnixDgram, AZeroLengthDatagramQueuedIsRefusedAndStaysQueued) {
  expect_refused("empty", "is an AF_UNIX SOCK_DGRAM socket bound to 'DIR/log.sock' with a zero-length datagram queued");
}

}  // namespace
}  // namespace cryo::e2e
