// Listening AF_UNIX sockets made again: a new socket bound to the image's name (an absolute path or
// an abstract name), its socket file given the dumped mode and owner, listening with the dumped
// backlog; and the connections it had accepted from clients in the tree, made again by connecting
// a new client to it and accepting. A listener whose file was unlinked after bind gets its file
// unlinked again once its connections exist (a client connects by the path).
//
// Abstract names live in the network namespace, which the tree shares with the host: one in use
// is an error. A path that still has a socket file (the dumped tree is gone, the file stays) is
// unlinked first, but only when it is a socket file that no one answers a connect() on.
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include "base/error.h"
#include "base/unique_fd.h"
#include "files.pb.h"

namespace cryo::restore {

// For the pre-flight: "" when the listener's name can be bound here, else the name and why not.
std::string unix_name_in_use(const image::UnixSocketState& listener);

// Binds `sock` to the image's name: a stale socket file at the path is unlinked first (as for a
// listener), the new file gets the dumped mode and owner. `where` names the socket for messages.
Result<> bind_unix_socket(int sock, const image::UnixSocketState& s, const std::string& where);

// connect() to the name `peer` is bound to.
Result<> connect_unix_socket(int sock, const image::UnixSocketState& peer);

// One sendto of `data` to the name `receiver` is bound to, without waiting; the bytes sent.
Result<size_t> send_unix_to(int sock, const std::string& data, const image::UnixSocketState& receiver);

// The new listening socket, bound and listening (its file still named, even for file_unlinked).
Result<UniqueFd> create_unix_listener(const image::UnixSocketState& listener);

// A connection accepted from `listener` (made by create_unix_listener from `state`): the client's
// end (unbound, non-blocking) and the accepted end, in that order.
Result<std::pair<UniqueFd, UniqueFd>> connect_and_accept(int listener, const image::UnixSocketState& state);

// Unlinks the socket file of a listener (or a bound datagram socket) again where the image says it
// was unlinked after bind.
Result<> unlink_if_dumped_unlinked(int listener, const image::UnixSocketState& state);

}  // namespace cryo::restore
