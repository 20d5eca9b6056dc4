// signalfd(2): the mask of signals the fd reads. fdinfo shows it as the kernel's 64-bit mask, and
// restore hands that mask back to the raw signalfd4.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "files.pb.h"
#include "ns/time_namespace.h"
#include "state/files/fd_kinds.h"

namespace cryo::state {

Result<> collect_signalfd(const FdCollect& in, image::Fd& out);
void validate_signalfd(const image::Fd& fd, const std::set<int>& numbers, const std::string& name, std::vector<std::string>* problems);
Result<int> install_signalfd(const image::Fd& fd, const FdInstall& at);

}  // namespace cryo::state
