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
  uint64_t peer_ino = 0;      // 0: not connected, or connected to a socket that was closed since.
  // The socket has a peer (UNIX_DIAG_PEER was sent), even one that was closed (peer_ino 0 then): a
  // datagram socket keeps pointing at a receiver that closed until it next sends.
  bool peer_present = false;
  uint8_t shutdown = 0;       // RCV_SHUTDOWN (1) | SEND_SHUTDOWN (2).
  // UNIX_DIAG_RQLEN. For a listener: connections waiting to be accepted, and the backlog
  // (sk_max_ack_backlog); for any other socket: bytes queued to read and to send.
  uint32_t rqueue = 0;
  uint32_t wqueue = 0;
  // UNIX_DIAG_VFS: the socket file a path-bound socket was bound to (inode and device, the device
  // in the encoding stat(2) uses), whether or not that file still has a name.
  std::optional<uint64_t> vfs_ino;
  uint64_t vfs_dev = 0;
};

// The socket of inode `ino` in cryo's network namespace (the tree's: cryo refuses trees with their own).
Result<UnixSocketDiag> query_unix_socket(uint64_t ino);

}  // namespace cryo
