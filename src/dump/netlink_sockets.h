// Netlink sockets (AF_NETLINK) of the protocols whose kernel side keeps nothing for a socket but
// what the socket shows: NETLINK_ROUTE, NETLINK_GENERIC, NETLINK_AUDIT, NETLINK_KOBJECT_UEVENT,
// NETLINK_SOCK_DIAG, NETLINK_XFRM, NETLINK_SELINUX, NETLINK_FIB_LOOKUP and NETLINK_USERSOCK. Their
// port id, multicast groups, connect()ed destination, options and classic socket filter are
// recorded; restore makes a new socket with them (restore/netlink_sockets.h).
//
// Refused, naming the fd: a socket with messages not read yet (the kernel's replies and multicast
// messages cannot be given to a new socket), with a dump request answered only in part, with a
// pending error (messages the kernel dropped), with an mmap'ed ring, an eBPF socket filter or SO_PASSSEC;
// and the protocols whose kernel side holds state for the port (NETLINK_NETFILTER queues and logs,
// NETLINK_CONNECTOR listeners, ...).
#pragma once

#include <sys/types.h>

#include <string>

#include "base/error.h"
#include "files.pb.h"

namespace cryo::dump {

// `sock` is cryo's own copy of the tracee's socket (pidfd_getfd), held by `pid` at fd `fd` whose
// link text is `target`; fills `out` or refuses.
Result<> collect_netlink_socket(pid_t pid, int sock, int fd, const std::string& target, uint64_t ino, image::Fd& out);

}  // namespace cryo::dump
