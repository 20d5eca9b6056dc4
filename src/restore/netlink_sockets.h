// Netlink sockets made again: a new socket of the image's protocol, with its options, bound to the
// same port id, a member of the same multicast groups, connect()ed to the same destination. Made
// once by the helper that stages the tree's shared fds (staged_fds.h), so that every process that
// held the socket (after fork, say) holds the same one again.
#pragma once

#include <string>

#include "base/error.h"
#include "files.pb.h"

namespace cryo::restore {

// Returns the new socket (close-on-exec; each holder sets its own flag). A port id in use here (the
// dumped tree still runs, or another process took it) is an error that names it.
Result<int> create_netlink_socket(const image::NetlinkSocketState& state);

// For the pre-flight: "" when the image's port id is free here (or the socket was not bound), else
// the port and why it cannot be bound.
std::string netlink_port_in_use(const image::NetlinkSocketState& state);

// "NETLINK_ROUTE socket 1234 (port 567)", for messages.
std::string describe_netlink_socket(const image::NetlinkSocketState& state);

}  // namespace cryo::restore
