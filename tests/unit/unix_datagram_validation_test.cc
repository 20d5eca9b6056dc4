// Validation of the datagram sockets of an image (restore/unix_datagram_validation.cc): a sound
// picture passes, and each damage is named.
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <vector>

#include "restore/image_validation.h"

namespace cryo::restore {
namespace {

// A receiver on a path (1), a sender bound to an abstract name and connected to it (2), an unbound
// sender connected to it (3), an unconnected unbound socket (4), and a socketpair whose end 5 was
// bound later (5 <-> 6).
struct Picture {
  std::map<uint64_t, image::UnixSocketState> states;

  Picture() {
    auto& r = add(1, "/run/log.sock", false);
    r.add_queue("from 2");
    r.add_senders()->set_name("s2");
    r.mutable_senders(0)->set_abstract(true);
    r.add_queue("from an unbound one");
    r.add_senders();
    add(2, "s2", true).set_peer_id(1);
    add(3, "", false).set_peer_id(1);
    add(4, "", false);
    auto& bound_end = add(5, "pair", true);
    bound_end.set_peer_id(6);
    bound_end.add_queue("from 6");
    bound_end.add_senders();
    auto& other = add(6, "", false);
    other.set_peer_id(5);
    other.add_queue("from 5");
    other.add_senders()->set_name("pair");
    other.mutable_senders(0)->set_abstract(true);
  }

  image::UnixSocketState& add(uint64_t id, const std::string& name, bool abstract) {
    auto& s = states[id];
    s.set_socket_id(id);
    s.set_type(SOCK_DGRAM);
    s.set_name(name);
    s.set_abstract(abstract);
    return s;
  }

  std::vector<std::string> problems() const {
    std::map<uint64_t, const image::UnixSocketState*> sockets;
    for (const auto& [id, s] : states) sockets[id] = &s;
    std::vector<std::string> out;
    validate_unix_datagrams(sockets, &out);
    return out;
  }
};

TEST(UnixDatagramValidation, ASoundPicturePasses) { EXPECT_TRUE(Picture().problems().empty()); }

TEST(UnixDatagramValidation, EachDamageIsNamed) {
  struct Case {
    std::function<void(Picture&)> damage;
    std::string problem;
  };
  std::vector<Case> cases = {
      {[](Picture& p) { p.states[2].set_peer_id(99); }, "its peer 99 is not in the image"},
      {[](Picture& p) { p.states[2].set_peer_id(4); }, "connected to socket 4, which has no name to connect to"},
      {[](Picture& p) { p.states[4].add_queue("x"); }, "datagrams queued to a socket that nobody could send to"},
      {[](Picture& p) { p.states[1].add_queue("x"); }, "2 senders for 3 queued datagrams"},
      {[](Picture& p) { p.states[1].mutable_senders(0)->set_name("elsewhere"); }, "which no datagram socket of the image is bound to"},
      {[](Picture& p) { p.states[5].mutable_senders(0)->set_name("/x"); }, "from another sender than its socketpair end"},
      {[](Picture& p) { p.states[1].mutable_senders(1)->set_name(std::string(200, 'a')); }, "does not fit sun_path"},
      {[](Picture& p) { p.states[2].set_name("/run/log.sock"), p.states[2].set_abstract(false); }, "bound to the same name"},
      {[](Picture& p) { p.states[3].set_sndbuf(1u << 31); }, "buffer sizes out of range"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.problem);
    Picture p;
    c.damage(p);
    std::string all;
    for (const auto& line : p.problems()) all += line + "\n";
    EXPECT_NE(all.find(c.problem), std::string::npos) << all;
  }
}

}  // namespace
}  // namespace cryo::restore
