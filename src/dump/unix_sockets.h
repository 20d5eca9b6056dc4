// Unix sockets: socketpairs with both ends held by the tree, with the data queued to each end
// copied without consuming it; listening SOCK_STREAM and SOCK_SEQPACKET sockets bound to an
// absolute path or an abstract name, with an empty accept queue; the connections they accepted
// from clients in the tree; and datagram sockets, bound or connected to a bound one of the tree
// (unix_datagrams.h). Listening TCP sockets are handed to state/files/tcp_listener.h, netlink sockets to
// state/files/netlink_socket.h. Every other socket (ends connected outside the tree, bound clients, other INET,
// packet ...) is refused, naming the fd and what kind of socket it is.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>

#include "base/error.h"
#include "files.pb.h"
#include "kernel/proc_fdinfo.h"

namespace cryo::dump {

// Fills `out` for fd `fd` of `pid`, whose link is `target` ("socket:[ino]"), or refuses it. The
// peer is only known by its inode here; check_socket_pairs looks for it once all processes are read.
Result<> collect_socket(pid_t pid, int fd, const std::string& target, uint64_t ino, const FdInfo& info, image::Fd& out);

// Every socket's peer must be a socket of the tree whose peer it is in turn, and every connected
// end with a name must have been accepted from a listener of the tree: its listener_id is set here.
// `files` by host PID.
Result<> check_socket_pairs(std::map<pid_t, image::ProcessFiles>& files);

}  // namespace cryo::dump
