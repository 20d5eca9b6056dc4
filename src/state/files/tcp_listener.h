// Listening TCP sockets (AF_INET, AF_INET6; FD_TCP_LISTENER): their address and the options that
// matter to the connections they accept. They hold no data.
//
// Dump: one with connections waiting to be accepted is refused: those would be lost.
//
// Restore: a new socket bound to the image's address, with the options accepted connections
// inherit, listening. Made once by the helper that stages the tree's shared fds (the table's stage
// step), so that every process that held the listener (after fork, say) holds the same one again.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "files.pb.h"
#include "image/image_set.h"
#include "state/files/staged_files.h"

namespace cryo::state {

// `sock` is cryo's own copy of the tracee's socket (pidfd_getfd); fills `out` or refuses, naming
// fd `fd` and its link text `target`. Called by the dump's socket recognition
// (dump/unix_sockets.cc), which tells the families apart.
Result<> collect_tcp_listener(int sock, int fd, const std::string& target, uint64_t ino, image::Fd& out);

// The table's validate step (tcp_listener_validation.cc).
void validate_tcp_listener(const image::Fd& fd, const std::set<int>& numbers, const std::string& name, std::vector<std::string>* problems);

// Returns the new listening socket. An address in use (the original still runs, or another process
// took the port) is an error that names the address.
Result<int> create_tcp_listener(const image::TcpListenerState& state);

// The table's stage step: every listener of the image, once, into staged.sockets by its id.
Result<> stage_tcp_listeners(const ImageSet& set, int min_fd, StagedFds& staged);

// For the pre-flight: "" when the image's address can be bound here, else the address and why not.
std::string tcp_port_in_use(const image::TcpListenerState& state);

}  // namespace cryo::state
