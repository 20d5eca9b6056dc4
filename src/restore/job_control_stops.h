// Job-control stops come back at release: a process that SIGSTOP or SIGTSTP (SIGTTIN, SIGTTOU) had
// stopped is sent that signal while all its threads are still traced at their final registers,
// then detached: no thread runs an instruction before the group stop holds it, exactly as the
// kernel's own stop does. Its parent, still traced, is then made to see what it saw before: a stop
// it had already collected with waitpid(WUNTRACED) is collected again by an injected wait4, and a
// SIGCHLD the new stop raised is taken back if the parent had none pending.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "base/error.h"
#include "ptrace/tracee.h"
#include "image/image_set.h"
#include "restore/placeholder_tree.h"
#include "image/tree_plan.h"

namespace cryo::restore {

// `threads[i]` is the range of `tracees` that holds the threads of images.processes[i] (leader first).
// Detaches the stopped processes, children before parents; the caller releases the others.
Result<> release_stopped_processes(const ImageSet& images, const TreePlan& plan, const PlaceholderTree& tree,
                                   std::vector<std::unique_ptr<Tracee>>& tracees,
                                   const std::vector<std::pair<size_t, size_t>>& threads);

}  // namespace cryo::restore
