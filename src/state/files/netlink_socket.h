// Netlink sockets (AF_NETLINK, FD_NETLINK_SOCKET) of the protocols whose kernel side keeps nothing
// for a socket but what the socket shows: NETLINK_ROUTE, NETLINK_GENERIC, NETLINK_AUDIT,
// NETLINK_KOBJECT_UEVENT, NETLINK_SOCK_DIAG, NETLINK_XFRM, NETLINK_SELINUX, NETLINK_FIB_LOOKUP and
// NETLINK_USERSOCK.
//
// Dump: their port id, multicast groups, connect()ed destination, options and classic socket filter
// are recorded. Refused, naming the fd: a socket with messages not read yet (the kernel's replies and
// multicast messages cannot be given to a new socket), with a dump request answered only in part,
// with a pending error (messages the kernel dropped), with an mmap'ed ring, an eBPF socket filter or
// SO_PASSSEC; and the protocols whose kernel side holds state for the port (NETLINK_NETFILTER queues
// and logs, NETLINK_CONNECTOR listeners, ...).
//
// Restore: a new socket of the image's protocol, with its options, bound to the same port id, a
// member of the same multicast groups, connect()ed to the same destination. Made once by the helper
// that stages the tree's shared fds (the table's stage step), so that every process that held the
// socket (after fork, say) holds the same one again.
#pragma once

#include <sys/types.h>

#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "files.pb.h"
#include "image/image_set.h"
#include "state/files/staged_files.h"

namespace cryo::state {

// `sock` is cryo's own copy of the tracee's socket (pidfd_getfd), held by `pid` at fd `fd` whose
// link text is `target`; fills `out` or refuses. Called by the dump's socket recognition
// (dump/unix_sockets.cc), which tells the families apart.
Result<> collect_netlink_socket(pid_t pid, int sock, int fd, const std::string& target, uint64_t ino, image::Fd& out);

// One socket's state (netlink_socket_validation.cc): protocol, type, groups, destination, options.
void validate_netlink_socket(const image::NetlinkSocketState& s, const std::string& name, std::vector<std::string>* problems);
// The table's validate step: validate_netlink_socket of the fd's state.
void validate_netlink_fd(const image::Fd& fd, const std::set<int>& numbers, const std::string& name, std::vector<std::string>* problems);
// Across the image: all holders of one netlink socket agree on it, and no two sockets of a protocol
// share a port id.
void validate_netlink_sockets(const ImageSet& set, std::vector<std::string>* problems);

// Returns the new socket (close-on-exec; each holder sets its own flag). A port id in use here (the
// dumped tree still runs, or another process took it) is an error that names it.
Result<int> create_netlink_socket(const image::NetlinkSocketState& state);

// The table's stage step: every netlink socket of the image, once, into staged.sockets by its id.
Result<> stage_netlink_sockets(const ImageSet& set, int min_fd, StagedFds& staged);

// For the pre-flight: "" when the image's port id is free here (or the socket was not bound), else
// the port and why it cannot be bound.
std::string netlink_port_in_use(const image::NetlinkSocketState& state);

// "NETLINK_ROUTE socket 1234 (port 567)", for messages.
std::string describe_netlink_socket(const image::NetlinkSocketState& state);

}  // namespace cryo::state
