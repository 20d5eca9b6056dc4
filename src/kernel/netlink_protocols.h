// The netlink protocols by number, with their names and whether cryo can make a socket of one
// again: only where the kernel keeps nothing for the socket's port but what the socket shows.
#pragma once

namespace cryo {

struct NetlinkProtocol {
  int number;
  const char* name;   // "NETLINK_ROUTE".
  bool restorable;
};

// nullptr for a protocol number the kernel headers do not name.
const NetlinkProtocol* find_netlink_protocol(int number);

}  // namespace cryo
