// The dump's half of verification: writes fingerprint-<pid>.img for every live process of the frozen
// tree (src/verify/fingerprint_reader.h), which restore compares with the restored processes.
#pragma once

#include <string>
#include <vector>

#include "base/dir_fd.h"
#include "base/error.h"
#include "dump/freezer.h"

namespace cryo::dump {

Result<> write_fingerprints(const DirFd& dir, const std::vector<FrozenProcess>& processes);

}  // namespace cryo::dump
