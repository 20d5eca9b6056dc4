// One sock_diag dump request over NETLINK_SOCK_DIAG: sends it and hands each reply message to the
// caller until the kernel says it is done. The per-family parts (netlink_diag, inet_diag) build
// their request and parse their messages; this is the conversation they share.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "base/error.h"

namespace cryo {

// Sends `request` (a family's *_diag_req, without the nlmsghdr) as SOCK_DIAG_BY_FAMILY with
// NLM_F_DUMP, and calls `each` with every reply's payload and its length. Every part is read to
// NLMSG_DONE, even once the caller has what it wants. `what` names the query in errors.
Result<> sock_diag_dump(const void* request, size_t request_size, const std::string& what,
                        const std::function<Result<>(const char* data, size_t size)>& each);

}  // namespace cryo
