// What the running kernel and this process offer checkpoint/restore, probed once (like CRIU's
// kerndat): printed by `cryo check` and consulted by dump and restore instead of probing again.
#pragma once

#include <string>
#include <vector>

#include "kernel/vdso_layout.h"

namespace cryo {

struct FeatureCheck {
  std::string key;     // Stable name, the key in `cryo check --json`: "time_namespaces".
  std::string title;   // For people: "time namespaces".
  bool ok = false;
  bool required = true;  // False: informational; cryo works without it.
  std::string detail;    // What the probe saw: what works, or the call that failed and why.
  std::string remedy;    // What to do when it is missing; empty when ok.
};

struct CapabilityState {
  std::string name;  // "CAP_SYS_ADMIN"
  bool held = false;
  bool required = true;
  std::string purpose;
};

struct KernelFeatures {
  std::string kernel_release;  // uname -r
  std::string machine;         // uname -m

  FeatureCheck time_namespaces;
  FeatureCheck clone3_set_tid;
  FeatureCheck ns_last_pid;
  FeatureCheck ptrace_seize;
  FeatureCheck rseq_configuration;  // PTRACE_GET_RSEQ_CONFIGURATION
  FeatureCheck process_vm_readv;
  FeatureCheck pidfd_getfd;
  FeatureCheck pagemap_scan;
  FeatureCheck vdso_layout;
  FeatureCheck capabilities;  // ok when every required capability is held.
  FeatureCheck posix_timer_ids;  // PR_TIMER_CREATE_RESTORE_IDS; optional: only images with POSIX timers need it.
  FeatureCheck seccomp_suspend;  // PTRACE_O_SUSPEND_SECCOMP; optional: only processes under seccomp filters need it.

  std::vector<SpecialMapping> special_mappings;  // This process's, in address order.
  std::vector<CapabilityState> capability_states;

  // Every check, in the order `cryo check` prints them.
  std::vector<const FeatureCheck*> checks() const;
  // True when every required check is ok: checkpoint and restore can work here.
  bool ready() const;
};

// Probes everything now (forks short-lived children for the probes that change process state).
KernelFeatures probe_kernel_features();

// The one probe restore needs, and only for an image with POSIX timers: whether timer_create takes a
// chosen ID. Fills `check` (its key and title as probe_kernel_features sets them).
void probe_posix_timer_ids(FeatureCheck& check);

// Probed on first use, then the same answer for the life of the process.
const KernelFeatures& kernel_features();

}  // namespace cryo
