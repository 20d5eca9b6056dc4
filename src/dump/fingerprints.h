// The dump's half of verification: writes fingerprint-<pid>.img for every live process of the frozen
// tree (src/verify/fingerprint_reader.h), which restore compares with the restored processes.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/dir_fd.h"
#include "base/error.h"
#include "dump/freezer.h"
#include "fingerprint.pb.h"

namespace cryo::dump {

// `adjust`, when given, sees each live process's fingerprint (with its host PID) before it is
// written: pre-copy hides its own write tracking there (dump/pre_copy.h). Returns the text of
// /proc/PID/smaps each live process's print was read from, by host PID, so that the memory map need
// not walk the page tables again.
Result<std::map<pid_t, std::string>> write_fingerprints(const DirFd& dir, const std::vector<FrozenProcess>& processes,
                            const std::function<void(pid_t, image::ProcessFingerprint&)>& adjust = {});

}  // namespace cryo::dump
