// Restore clones every thread of a process from its leader, so per-thread state the leader does not
// share (no_new_privs, personality, securebits ...) would come back as the leader's. A thread that
// set its own is refused at dump, in one wording for every such field.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/error.h"

namespace cryo::dump {

// "thread TID has WHAT OWN and its leader LEADER (HOW), which cryo cannot dump yet (...)"; `how`, when
// not empty, says how a thread gets there.
Error thread_unlike_its_leader(pid_t tid, const std::string& what, const std::string& own, const std::string& leader,
                               const std::string& how = "");

}  // namespace cryo::dump
