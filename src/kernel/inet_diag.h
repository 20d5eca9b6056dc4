// sock_diag for TCP sockets: what getsockopt does not tell about a listening TCP socket (the
// backlog listen() was given), asked of the kernel over NETLINK_SOCK_DIAG.
#pragma once

#include <cstdint>

#include "base/error.h"

namespace cryo {

struct TcpListenerDiag {
  bool listed = false;   // The kernel listed the socket among the listeners of its family.
  uint32_t backlog = 0;  // sk_max_ack_backlog: listen()'s backlog, capped at net.core.somaxconn.
};

// The listening socket of inode `ino` among the TCP listeners of `family` (AF_INET, AF_INET6) in
// cryo's network namespace (the tree's: cryo refuses trees with their own). `listed` is false when
// no such listener exists.
Result<TcpListenerDiag> query_tcp_listener(int family, uint64_t ino);

}  // namespace cryo
