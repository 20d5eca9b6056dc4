// namespaces.img: which namespaces the tree has of its own, its time offsets, its clocks at the
// freeze, and its hostname.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>

#include "base/error.h"
#include "common.pb.h"
#include "namespaces.pb.h"
#include "ns/time_namespace.h"

namespace cryo::dump {

// The namespace inodes of a process, by name ("mnt", "uts", ...). pid_for_children and
// time_for_children are included: a process that unshared one without forking differs there.
Result<std::map<std::string, uint64_t>> namespace_inodes(pid_t pid);

// Refuses a process whose namespaces differ from the init's: restore builds one set for the tree.
Result<> check_same_namespaces(const std::map<std::string, uint64_t>& process,
                               const std::map<std::string, uint64_t>& init);

// Refuses a tree with a namespace of its own that restore cannot rebuild (user, network, cgroup):
// such a dump could never be restored. `tree` is the init's, `ours` cryo's.
Result<> refuse_unrestorable_namespaces(const std::map<std::string, uint64_t>& tree,
                                        const std::map<std::string, uint64_t>& ours);

// The host's (kernel's) clocks now, with `own` (the offsets of cryo's own time namespace) taken out.
image::ClockReadings read_host_clocks(const ClockOffsets& own);

// The namespaces of the tree whose init is `init`, with `host_clocks` read at the freeze.
Result<image::Namespaces> collect_namespaces(pid_t init, const image::ClockReadings& host_clocks);

// The hostname of the UTS namespace of `pid`, asked from a child that joins that namespace.
Result<std::string> read_hostname(pid_t pid);

}  // namespace cryo::dump
