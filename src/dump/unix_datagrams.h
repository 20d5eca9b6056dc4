// AF_UNIX SOCK_DGRAM sockets beyond unnamed socketpairs: sockets bound to a path or an abstract name
// (a syslog-like receiver, a daemon's notify socket), sockets connected (connect()) to such a
// receiver of the tree, with or without a name of their own, and the senders of their queued
// datagrams. unix_sockets.cc reads the name and the queue; this module reads what else a datagram
// socket holds and, once every process is read, checks that restore can make the whole picture again:
// every peer in the tree, every queued datagram's sender bound in the tree (or unbound). What it
// cannot make again (a receiver outside the tree such as the host's /dev/log, SO_PASSCRED, a
// datagram from a named sender outside the tree) is refused, naming it.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <map>
#include <string>

#include "base/error.h"
#include "files.pb.h"
#include "kernel/unix_diag.h"

namespace cryo::dump {

// SO_PASSCRED, SO_PASSPIDFD and SO_PASSSEC are refused; SO_SNDBUF and SO_RCVBUF are kept where
// they differ from the host's defaults; the peer is kept by its inode (or refused when it was
// closed). `kind` describes the socket for messages ("an AF_UNIX SOCK_DGRAM socket bound to ...").
Result<> collect_datagram_socket(int sock, int fd, const std::string& target, const std::string& kind, const UnixSocketDiag& diag,
                                 image::UnixSocketState& state);

// The sender of a datagram as recvmsg gave its address (`length` 0: an unbound sender).
image::UnixSocketState::Sender datagram_sender(const sockaddr_un& address, socklen_t length);

// Every datagram socket's peer is a socket of the tree that restore can connect it to, every
// queued datagram has a sender restore can send it from, and no two sockets it binds share a name.
// `files` by host PID.
Result<> check_datagram_sockets(const std::map<pid_t, image::ProcessFiles>& files);

}  // namespace cryo::dump
