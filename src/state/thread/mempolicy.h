// A thread's NUMA memory policy: what set_mempolicy (or numactl --interleave, --membind,
// --preferred before it exec'd the program) made it. Per thread; clone and fork inherit it. Dump
// asks the thread itself (get_mempolicy has no tid argument); restore sets it from inside and reads
// it back. The policies of single mappings (mbind) are not dumped: the preflight refuses them
// (kernel/proc_numa_maps.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "core.pb.h"
#include "image/value_checks.h"
#include "ptrace/remote_syscalls.h"
#include "ptrace/remote_task.h"

namespace cryo {

// Dump. get_mempolicy of the thread `remote` runs in: kMempolicyAnswerSize bytes at `at`.
constexpr size_t kMempolicyAnswerSize = 16;
Result<> ask_mempolicy(RemoteSyscalls& remote, uint64_t at);
// Sets `thread.mempolicy` unless the answer is the default policy.
void read_mempolicy(const char* answer, image::ThreadCore& thread);

// A known mode, known mode flags (not both STATIC and RELATIVE), a node for the modes that need one.
void validate_mempolicy(const image::ThreadCore& thread, const image::ProblemSink& problem);

// Restore: set_mempolicy in the thread `task` runs in, then get_mempolicy, which must agree (a host
// without the image's nodes refuses or changes it). MPOL_DEFAULT for a thread without one.
Result<> restore_mempolicy(RemoteTask& task, const image::ThreadCore& thread);

}  // namespace cryo
