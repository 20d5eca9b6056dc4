// The credentials of a process: uids, gids, supplementary groups, the five capability sets,
// securebits and no_new_privs. Dump reads them from /proc/PID/status (securebits from inside);
// restore injects them into each thread, late, since every step before needs cryo's capabilities.
#pragma once

#include <cstdint>

#include "base/error.h"
#include "core.pb.h"
#include "image/value_checks.h"
#include "kernel/proc_status.h"
#include "ptrace/remote_task.h"

namespace cryo {

constexpr int kMaxGroups = 65536;  // NGROUPS_MAX

// What /proc/PID/status says, with the securebits the process reported (PR_GET_SECUREBITS).
void collect_creds(const ProcStatus& status, uint32_t securebits, image::Creds* creds);
// Credentials belong to each thread, and glibc changes them in every thread at once; a process
// whose threads differ (raw setuid syscalls) would be restored with the leader's in all of them.
Result<> check_same_creds(const ProcStatus& thread, const ProcStatus& leader);

// Four uids and gids, a bounded list of groups, no capability beyond the last (creds_validation.cc).
void validate_creds(const image::Creds& creds, const image::ProblemSink& problem);

// Groups, uids, gids, securebits, bounding set, capabilities, ambient capabilities, into the thread
// `task` runs in (no_new_privs comes with the process's flags, task_flags.h).
Result<> restore_creds(RemoteTask& task, const image::Creds& creds);

}  // namespace cryo
