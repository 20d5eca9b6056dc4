// The kernel's audit status (AUDIT_GET over NETLINK_AUDIT): which process is registered as the
// audit daemon. Its registration is kept by the kernel for the daemon's netlink port, and is lost
// when that socket closes: a new socket at the same port is not registered again.
#pragma once

#include <sys/types.h>

#include "base/error.h"

namespace cryo {

// The registered audit daemon's PID in cryo's PID namespace, or 0 when none is registered.
Result<pid_t> audit_daemon_pid();

}  // namespace cryo
