// Listening TCP sockets (AF_INET, AF_INET6): their address and the options that matter to the
// connections they accept. They hold no data; restore binds a new socket to the same address and
// listens again. One with connections waiting to be accepted is refused: those would be lost.
#pragma once

#include <string>

#include "base/error.h"
#include "files.pb.h"

namespace cryo::dump {

// `sock` is cryo's own copy of the tracee's socket (pidfd_getfd); fills `out` or refuses, naming
// fd `fd` and its link text `target`.
Result<> collect_tcp_listener(int sock, int fd, const std::string& target, uint64_t ino, image::Fd& out);

}  // namespace cryo::dump
