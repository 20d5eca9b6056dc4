// Netlink sockets come back with their protocol, port id, multicast groups, destination and options
// (tests/workloads/cr_netlink.c says what it holds and checks); one with messages not read yet is
// refused at dump, and a port id taken here since the dump stops the restore before anything runs.
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

// A port for cr_netlink's fd 10 or 12 that no other test running now uses: tests run in parallel,
// each in its own process, and negative port ids (bit 31) are the kernel's own picks. Only the round
// trip lets the kernel pick fd 10's port: 1, its init's PID, which no other test here takes.
uint32_t unique_port(uint32_t salt) { return 0x40000000u | (static_cast<uint32_t>(::getpid()) << 4) | salt; }

TEST(CheckpointNetlink, RouteAndGenericSocketsComeBackAtTheirPortsWithGroupsAndStillGetAnswers) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_netlink", {"--port=" + std::to_string(unique_port(1))});
}

TEST(CheckpointNetlink, DumpRefusesASocketWithMessagesNotReadYet) {
  CheckpointSession session;
  pid_t init = session.start("cr_netlink", {"--mode=unread", "--route-port=" + std::to_string(unique_port(3))});
  ASSERT_GT(init, 0);
  expect_dump_refused(session, init, "is an AF_NETLINK NETLINK_ROUTE socket with ");
  CommandResult result = session.dump(init, session.image_path("again"), {"--leave-running"});
  EXPECT_NE(result.err.find("bytes of messages not read yet"), std::string::npos) << result.err;
  session.expect_pass_after_check(init);
}

// Refused at dump, naming the fd: a protocol whose kernel side keeps state for the port (cr_netlink
// --mode=netfilter), an eBPF socket filter (--mode=filter).
TEST(CheckpointNetlink, DumpRefusesANetfilterSocketAndAnEbpfFilter) {
  for (auto [mode, mentions] : {std::pair<std::string, std::string>{"netfilter", "is an AF_NETLINK NETLINK_NETFILTER socket, whose kernel side keeps state"},
                                {"filter", "is an AF_NETLINK NETLINK_ROUTE socket with an eBPF socket filter attached"}}) {
    SCOPED_TRACE(mode);
    CheckpointSession session;
    pid_t init = session.start("cr_netlink", {"--mode=" + mode, "--route-port=" + std::to_string(unique_port(4))});
    ASSERT_GT(init, 0);
    expect_dump_refused(session, init, mentions);
    session.expect_pass_after_check(init);
  }
}

TEST(CheckpointNetlink, RestoreRefusesAPortTakenSinceTheDump) {
  CheckpointSession session;
  uint32_t port = unique_port(2);
  pid_t init = session.start("cr_netlink", {"--port=" + std::to_string(port), "--route-port=" + std::to_string(unique_port(5))});
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  // cr_netlink's fd 12 was bound to this port.
  int taker = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  ASSERT_GE(taker, 0);
  sockaddr_nl address{};
  address.nl_family = AF_NETLINK;
  address.nl_pid = port;
  ASSERT_EQ(::bind(taker, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  CommandResult result = session.restore(session.image_path());
  ::close(taker);
  expect_one_clear_error(result, "NETLINK_ROUTE socket");
  EXPECT_NE(result.err.find("port " + std::to_string(port)), std::string::npos) << result.err;
}

}  // namespace
}  // namespace cryo::e2e
