// AF_UNIX SOCK_DGRAM sockets made again, all of them (dump/unix_datagrams.h says which the image
// holds): ends that point at each other, one without a name, as a socketpair; every other socket
// on its own. In this order, each step needing the one before:
//   1. the sockets, with SO_SNDBUF and SO_RCVBUF (queued datagrams count against their sender's);
//   2. each named one bound to its name, its file given the dumped mode and owner (unix_listeners.h);
//   3. the queued datagrams sent again, each from a socket bound to its sender's name (or an
//      unbound one): the receiver's recvfrom names the same sender. This comes before any
//      connect(): a connected receiver takes datagrams from its peer only;
//   4. connect() to each peer's name, in an order the kernel accepts (a socket can only be
//      connected to one that is unconnected or connected to it);
//   5. the files unlinked after bind at the dump unlinked again (peers connected by the path).
#pragma once

#include <cstdint>
#include <map>

#include "base/error.h"
#include "files.pb.h"

namespace cryo::restore {

// Every SOCK_DGRAM socket of `sockets` (by socket_id; validated) into `staged`, at fd numbers >= min_fd.
Result<> stage_unix_datagrams(const std::map<uint64_t, const image::UnixSocketState*>& sockets, int min_fd,
                              std::map<uint64_t, int>& staged);

}  // namespace cryo::restore
