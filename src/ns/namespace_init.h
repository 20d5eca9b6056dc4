// The one way cryo creates the init of a tree in new namespaces, for `cryo run` (ns/launcher.cc) and
// for restore (restore/placeholder_tree.cc): they differ only in what they ask for here, in what
// the init then runs, and in how the intermediate reports the init's PID.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "base/error.h"
#include "ns/time_namespace.h"

namespace cryo {

struct NamespaceInitRequest {
  // The offsets of the init's new time namespace. The init is always in new PID, mount and time
  // namespaces; the rest is asked.
  ClockOffsets clocks;
  bool own_ipc = false;
  bool own_uts = false;
  // The PID the init gets in its namespace: 1 through clone3's set_tid, or whatever the kernel
  // gives (also 1, as the first process of a new PID namespace) when unset.
  std::optional<pid_t> pid;
  // CLONE_PARENT: the init becomes a child of the caller's parent (restore: cryo can then wait for
  // it while the intermediate exits at once). The kernel then wants exit_signal 0.
  bool sibling_of_caller = false;
  int exit_signal = SIGCHLD;
};

// Creates the init, from an intermediate process that cryo forked for this (single-threaded):
// unshare(CLONE_NEWTIME) with the offsets, which applies only to the caller's later children and
// must precede them, then clone3 with the namespaces asked. Like fork, returns 0 in the init and
// the init's host PID in the caller; errors name the failing call with its flags.
Result<pid_t> clone_namespace_init(const NamespaceInitRequest& request);

// "clone3(CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWIPC)": the call clone_namespace_init makes, for messages.
std::string namespace_init_call(const NamespaceInitRequest& request);

}  // namespace cryo
