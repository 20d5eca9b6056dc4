// sock_diag for AF_UNIX sockets: what /proc does not tell about a unix socket (its peer, its name,
// its shutdown state), asked of the kernel by socket inode over NETLINK_SOCK_DIAG.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/error.h"

namespace cryo {

struct UnixSocketDiag {
  uint64_t ino = 0;
  int type = 0;               // SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET.
  int state = 0;              // TCP_ESTABLISHED, TCP_LISTEN, TCP_CLOSE as the kernel keeps it.
  std::optional<std::string> name;  // Bound address; abstract names start with '\0'.
  uint64_t peer_ino = 0;      // 0: not connected.
  uint8_t shutdown = 0;       // RCV_SHUTDOWN (1) | SEND_SHUTDOWN (2).
};

// The socket of inode `ino` in cryo's network namespace (the tree's: cryo refuses trees with their own).
Result<UnixSocketDiag> query_unix_socket(uint64_t ino);

}  // namespace cryo
