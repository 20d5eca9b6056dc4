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

// For validation: a problem for each option that is not in the table, or of more bytes than any is.
void validate_socket_options(const google::protobuf::RepeatedPtrField<image::SocketOption>& options, const std::string& name,
                             std::vector<std::string>* problems);

}  // namespace cryo
