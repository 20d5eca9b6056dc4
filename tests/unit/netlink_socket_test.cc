// Netlink sockets: the sock_diag reply parser (kernel/netlink_diag.h) on bytes laid out as the
// kernel sends them, and the validation of their image state (state/files/netlink_socket_validation.cc): a
// sound picture passes, and each damage is named.
#include <linux/netlink.h>
#include <linux/netlink_diag.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "kernel/netlink_diag.h"
#include "state/files/netlink_socket.h"

namespace cryo {
namespace {

void put_attribute(std::string& out, uint16_t type, const void* data, size_t size) {
  nlattr attr{static_cast<uint16_t>(NLA_HDRLEN + size), type};
  out.append(reinterpret_cast<const char*>(&attr), sizeof attr);
  out.append(static_cast<const char*>(data), size);
  out.append(NLA_ALIGN(size) - size, '\0');
}

std::string diag_reply(uint32_t ino) {
  netlink_diag_msg msg{};
  msg.ndiag_family = AF_NETLINK;
  msg.ndiag_type = SOCK_RAW;
  msg.ndiag_protocol = NETLINK_ROUTE;
  msg.ndiag_state = 1;
  msg.ndiag_portid = 4242;
  msg.ndiag_dst_portid = 0;
  msg.ndiag_dst_group = 3;
  msg.ndiag_ino = ino;
  std::string out(reinterpret_cast<const char*>(&msg), sizeof msg);
  out.append(NLMSG_ALIGN(sizeof msg) - sizeof msg, '\0');
  uint64_t groups = (1ull << 0) | (1ull << 6) | (1ull << 35);  // Groups 1, 7 and 36.
  put_attribute(out, NETLINK_DIAG_GROUPS, &groups, sizeof groups);
  uint32_t meminfo[SK_MEMINFO_VARS] = {};
  meminfo[SK_MEMINFO_RMEM_ALLOC] = 2304;
  put_attribute(out, NETLINK_DIAG_MEMINFO, meminfo, sizeof meminfo);
  uint32_t flags = NDIAG_FLAG_CB_RUNNING | NDIAG_FLAG_PKTINFO;
  put_attribute(out, NETLINK_DIAG_FLAGS, &flags, sizeof flags);
  return out;
}

TEST(NetlinkDiag, ParsesPortDestinationGroupsMemoryAndFlags) {
  std::string reply = diag_reply(777);
  auto diag = parse_netlink_diag(reply.data(), reply.size());
  ASSERT_TRUE(diag) << diag.error().message;
  EXPECT_EQ(diag->ino, 777u);
  EXPECT_EQ(diag->type, SOCK_RAW);
  EXPECT_EQ(diag->protocol, NETLINK_ROUTE);
  EXPECT_EQ(diag->state, 1);
  EXPECT_EQ(diag->portid, 4242u);
  EXPECT_EQ(diag->dst_group, 3u);
  EXPECT_EQ(diag->groups, (std::vector<uint32_t>{1, 7, 36}));
  ASSERT_TRUE(diag->rmem_alloc);
  EXPECT_EQ(*diag->rmem_alloc, 2304u);
  EXPECT_EQ(diag->flags, static_cast<uint32_t>(NDIAG_FLAG_CB_RUNNING | NDIAG_FLAG_PKTINFO));
  EXPECT_FALSE(diag->has_ring);
}

TEST(NetlinkDiag, RefusesShortRepliesAndMalformedAttributes) {
  std::string reply = diag_reply(1);
  EXPECT_FALSE(parse_netlink_diag(reply.data(), sizeof(netlink_diag_msg) - 1));
  // An attribute whose length runs past the end of the message.
  std::string broken = reply.substr(0, NLMSG_ALIGN(sizeof(netlink_diag_msg)));
  nlattr attr{200, NETLINK_DIAG_GROUPS};
  broken.append(reinterpret_cast<const char*>(&attr), sizeof attr);
  EXPECT_FALSE(parse_netlink_diag(broken.data(), broken.size()));
}

// The kernel answers the whole dump: query_netlink_socket finds a socket of this process by inode.
TEST(NetlinkDiag, FindsABoundSocketOfThisProcessAndNotAnUnboundOne) {
  int bound = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  int unbound = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  ASSERT_GE(bound, 0);
  ASSERT_GE(unbound, 0);
  sockaddr_nl address{};
  address.nl_family = AF_NETLINK;
  address.nl_groups = 1;
  ASSERT_EQ(::bind(bound, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(::getsockname(bound, reinterpret_cast<sockaddr*>(&address), &length), 0);
  struct stat st;
  ASSERT_EQ(::fstat(bound, &st), 0);
  auto found = query_netlink_socket(NETLINK_ROUTE, st.st_ino);
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->listed);
  EXPECT_EQ(found->portid, address.nl_pid);
  EXPECT_EQ(found->groups, std::vector<uint32_t>{1});
  EXPECT_EQ(found->rmem_alloc.value_or(99), 0u);
  ASSERT_EQ(::fstat(unbound, &st), 0);
  found = query_netlink_socket(NETLINK_ROUTE, st.st_ino);
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_FALSE(found->listed);
  ::close(bound);
  ::close(unbound);
}

}  // namespace

namespace state {
namespace {

ImageSet image_with_netlink_sockets() {
  ImageSet set;
  set.processes.emplace_back();
  set.processes[0].entry.set_pid(1);
  for (int i = 0; i < 2; ++i) {
    auto* fd = set.processes[0].files.add_fds();
    fd->set_fd(10 + i);
    fd->set_kind(image::FD_NETLINK_SOCKET);
    auto* s = fd->mutable_netlink_socket();
    s->set_socket_id(100 + i);
    s->set_type(SOCK_RAW);
    s->set_protocol(i == 0 ? NETLINK_ROUTE : NETLINK_GENERIC);
    s->set_portid(i == 0 ? 4242 : 0);
    if (i == 0) {
      s->add_groups(1);
      s->add_groups(36);
      s->set_connected(true);
      s->set_dst_group(2);
      s->set_rcvbuf(212992);
    }
  }
  return set;
}

std::vector<std::string> problems_of(const ImageSet& set) {
  std::vector<std::string> problems;
  for (const auto& fd : set.processes[0].files.fds()) validate_netlink_socket(fd.netlink_socket(), "fd " + std::to_string(fd.fd()), &problems);
  validate_netlink_sockets(set, &problems);
  return problems;
}

TEST(NetlinkValidation, SoundSocketsHaveNoProblem) {
  auto problems = problems_of(image_with_netlink_sockets());
  EXPECT_TRUE(problems.empty()) << problems.front();
}

TEST(NetlinkValidation, NamesEachDamage) {
  auto socket = [](ImageSet& s, int index) { return s.processes[0].files.mutable_fds(index)->mutable_netlink_socket(); };
  struct Case {
    std::function<void(ImageSet&)> damage;
    std::string problem;
  } cases[] = {
      {[&](auto& s) { socket(s, 0)->set_socket_id(0); }, "has no socket id"},
      {[&](auto& s) { socket(s, 0)->set_type(SOCK_STREAM); }, "neither SOCK_RAW nor SOCK_DGRAM"},
      {[&](auto& s) { socket(s, 0)->set_protocol(NETLINK_NETFILTER); }, "of protocol 12, which cryo does not make again"},
      {[&](auto& s) { socket(s, 0)->set_protocol(200); }, "of protocol 200"},
      {[&](auto& s) { socket(s, 0)->set_groups(1, 1); }, "multicast group 1 is out of range or out of order"},
      {[&](auto& s) { socket(s, 0)->set_groups(0, 0); }, "multicast group 0 is out of range"},
      {[&](auto& s) {
         for (int i = 0; i < 5000; ++i) socket(s, 1)->add_groups(static_cast<uint32_t>(i + 1));
       },
       "more than 4096 multicast groups"},
      {[&](auto& s) { socket(s, 0)->set_portid(0); }, "is connected but not bound"},
      {[&](auto& s) { socket(s, 1)->set_dst_portid(7); }, "has a destination but is not connected"},
      {[&](auto& s) { socket(s, 0)->set_dst_group(33); }, "destination group 33 is above 32"},
      {[&](auto& s) { socket(s, 0)->set_rcvbuf(1u << 31); }, "buffer sizes are out of range"},
      {[&](auto& s) { socket(s, 0)->set_sndtimeo_us(UINT64_MAX); }, "timeouts are out of range"},
      {[&](auto& s) { socket(s, 0)->set_filter("1234567"); }, "socket filter of 7 bytes is not a classic BPF program"},
      {[&](auto& s) { socket(s, 0)->set_filter(std::string(8 * 4097, '\0')); }, "is not a classic BPF program"},
      {[&](auto& s) {
         socket(s, 1)->set_protocol(NETLINK_ROUTE);
         socket(s, 1)->set_portid(4242);
       },
       "is bound to port 4242 of socket 100 too"},
      {[&](auto& s) {
         auto* copy = s.processes[0].files.add_fds();
         *copy = s.processes[0].files.fds(0);
         copy->set_fd(20);
         copy->mutable_netlink_socket()->set_pktinfo(true);
       },
       "differs from another holder's"},
      {[&](auto& s) {
         auto* other = s.processes[0].files.add_fds();
         other->set_fd(21);
         other->set_kind(image::FD_UNIX_SOCKET);
         other->mutable_unix_socket()->set_socket_id(101);
       },
       "has the id of a unix or TCP socket"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.problem);
    ImageSet set = image_with_netlink_sockets();
    c.damage(set);
    auto problems = problems_of(set);
    bool found = false;
    for (const auto& p : problems) found = found || p.find(c.problem) != std::string::npos;
    EXPECT_TRUE(found) << (problems.empty() ? "no problem" : problems.front());
  }
}

}  // namespace
}  // namespace state
}  // namespace cryo
