// What a refusal says of an AF_INET or AF_INET6 socket cryo does not dump (connected TCP, UDP):
// its TCP state and its addresses, so the user sees which connection holds the dump back.
#pragma once

#include <string>

namespace cryo::dump {

// " connected from 127.0.0.1:40312 to 127.0.0.1:8080" (TCP ESTABLISHED), " in TCP state CLOSE_WAIT
// from ... to ...", " bound to [::1]:5353", " not bound"; "" when `sock` is no inet socket. `sock`
// is cryo's copy of the socket (pidfd_getfd).
std::string describe_inet_endpoints(int sock, int family, int type);

}  // namespace cryo::dump
