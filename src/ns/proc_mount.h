// A fresh /proc for a process that is PID 1 of a new PID namespace in a new mount namespace.
#pragma once

#include "base/error.h"

namespace cryo {

// Makes every mount private (so nothing propagates back to the host), then mounts a new procfs on
// /proc, which shows only the new PID namespace. Call in the namespace's init, after
// clone(CLONE_NEWPID | CLONE_NEWNS).
Result<> mount_private_proc();

}  // namespace cryo
