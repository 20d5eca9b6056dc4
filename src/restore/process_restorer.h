// Turns one seized placeholder into the process of the image, step by step through injected
// syscalls, and leaves it stopped at its final registers, ready to be released with the others.
#pragma once

#include <sys/types.h>

#include <memory>
#include <vector>

#include "base/error.h"
#include "ptrace/tracee.h"
#include "image/image_set.h"
#include "restore/placeholder.h"
#include "restore/shared_memory_plan.h"
#include "restore/vdso_proxy.h"

namespace cryo::restore {

class PageServer;

// Seizes the placeholder `host_pid` of `process` and restores it with all its threads. Appends the
// tracees of its threads (leader first) to `tracees` as soon as they exist, so the caller holds them
// also when a later step fails (kill the tree before dropping them). On success every one of them
// is stopped with its state in place; detaching them all lets the process run. `memory` is what
// the placeholder has in place already (shared_memory_plan.h); `vdso` says whether the image's vdso
// entry points are redirected to this kernel's (vdso_proxy.h).
// With a `lazy` page server (--lazy), its lazy mappings are left to it, and an init gets SIGKILL as
// its parent-death signal until the server is done (page_server.h).
Result<> restore_process(const ProcessImage& process, pid_t host_pid, const PlaceholderContext& ctx,
                         const PreparedMemory& memory, const VdsoRedirect& vdso, std::vector<std::unique_ptr<Tracee>>& tracees,
                         PageServer* lazy = nullptr);

}  // namespace cryo::restore
