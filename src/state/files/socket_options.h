// The socket options of a TCP listener or a unix socket that cryo gives back by value, beyond the
// few their own records name (SO_REUSEADDR, SO_REUSEPORT, IPV6_V6ONLY, TCP_NODELAY, SO_KEEPALIVE): priority,
// linger, buffers, timeouts, mark, TOS and TTL, deferred accept, fast open, keepalive timing, user
// timeout, MSS, congestion control ... Accepted connections inherit most of them, and a server
// that set them (nginx's TCP_DEFER_ACCEPT, a SO_RCVTIMEO on accept) depends on them.
#pragma once

#include <google/protobuf/repeated_field.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "files.pb.h"

namespace cryo {

// Dump: every option of the table that the kernel answers for a socket of `family`, as its bytes.
Result<> collect_socket_options(int sock, int family, google::protobuf::RepeatedPtrField<image::SocketOption>* out);

// Restore: each option the new socket has otherwise is set, then read back: a value the kernel
// does not keep (a congestion control this host lacks, a buffer above its limit) is an error
// naming the option, never a different value. An option not in the table is an error too.
Result<> restore_socket_options(int sock, int family, const google::protobuf::RepeatedPtrField<image::SocketOption>& options);

// Restore, for the sockets whose records keep their buffer sizes (netlink, unix datagram): makes
// SO_SNDBUF or SO_RCVBUF (`option`) show `want`, the size getsockopt showed at the dump. setsockopt
// takes half of it and caps it at net.core.wmem_max (rmem_max); `force` (SO_SNDBUFFORCE,
// SO_RCVBUFFORCE, which need CAP_NET_ADMIN) does not cap, and is tried when the plain one fell short.
// A socket that shows the size already is left alone. Returns the size getsockopt shows at the end:
// the caller refuses one that is not `want`.
Result<uint32_t> set_buffer_size(int sock, int option, int force, uint32_t want, const char* name);

// For validation: a problem for each option that is not in the table, or of more bytes than any is.
void validate_socket_options(const google::protobuf::RepeatedPtrField<image::SocketOption>& options, const std::string& name,
                             std::vector<std::string>* problems);

}  // namespace cryo
