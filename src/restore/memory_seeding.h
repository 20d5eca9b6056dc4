// The placeholder's half of copy-on-write sharing (shared_memory_plan.h): before it forks its
// children, a placeholder maps the VMAs whose pages they share with it at their image addresses,
// where its own memory leaves room, and writes its own pages into them. Runs in the placeholder,
// which never logs; it records what it mapped on the seed board for cryo.
#pragma once

#include <cstddef>

#include "base/error.h"
#include "restore/placeholder.h"
#include "restore/shared_memory_plan.h"

namespace cryo::restore {

// `inherited` is the plan of the placeholder that forked this one, `inherited_from` its process
// index (-1 and nullptr for the init or a process forked by a helper).
Result<PreparedMemory> seed_shared_memory(const PlaceholderContext& ctx, size_t index, int inherited_from,
                                          const PreparedMemory* inherited);

}  // namespace cryo::restore
