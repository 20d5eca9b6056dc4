// Listening TCP sockets made again: a new socket bound to the image's address, with the options
// accepted connections inherit, listening. Made once by the helper that stages the tree's shared
// fds, so that every process that held the listener (after fork, say) holds the same one again.
#pragma once

#include <string>

#include "base/error.h"
#include "files.pb.h"

namespace cryo::restore {

// Returns the new listening socket. An address in use (the original still runs, or another process
// took the port) is an error that names the address.
Result<int> create_tcp_listener(const image::TcpListenerState& state);

// For the pre-flight: "" when the image's address can be bound here, else the address and why not.
std::string tcp_port_in_use(const image::TcpListenerState& state);

}  // namespace cryo::restore
