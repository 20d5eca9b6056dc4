// sock_diag for AF_NETLINK sockets: what getsockopt does not tell about a netlink socket (its
// destination, whether a dump request is half answered, how much its receive queue holds), asked of
// the kernel over NETLINK_SOCK_DIAG.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/error.h"

namespace cryo {

struct NetlinkSocketDiag {
  bool listed = false;        // The kernel listed the socket (see query_netlink_socket).
  uint64_t ino = 0;
  int type = 0;               // SOCK_RAW or SOCK_DGRAM.
  int protocol = 0;           // NETLINK_ROUTE ...
  int state = 0;              // 1 (NETLINK_CONNECTED) after connect(); else TCP_CLOSE (7).
  uint32_t portid = 0;        // 0: not bound.
  uint32_t dst_portid = 0;
  uint32_t dst_group = 0;
  std::vector<uint32_t> groups;  // Member of these multicast groups (1-based), increasing.
  std::optional<uint32_t> rmem_alloc;  // NETLINK_DIAG_MEMINFO: bytes of buffer its receive queue holds.
  uint32_t flags = 0;         // NETLINK_DIAG_FLAGS: NDIAG_FLAG_CB_RUNNING (a dump half answered) ...
  bool has_ring = false;      // NETLINK_DIAG_RX_RING or _TX_RING: an mmap'ed ring (kernels before 4.6).
};

// The socket of inode `ino` among the netlink sockets of `protocol` in cryo's network namespace (the
// tree's: cryo refuses trees with their own). The kernel answers netlink_diag only with a dump of
// every socket of the protocol, and leaves out a socket that is neither bound nor in a multicast
// group: `listed` is false then, and the rest empty.
Result<NetlinkSocketDiag> query_netlink_socket(int protocol, uint64_t ino);

// Parses the attributes that follow a netlink_diag_msg (for tests on fixture bytes); `data` is the
// message after its nlmsghdr, `size` its length.
Result<NetlinkSocketDiag> parse_netlink_diag(const char* data, size_t size);

}  // namespace cryo
