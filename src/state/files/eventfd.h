// eventfd(2): a counter, and whether it counts as a semaphore (EFD_SEMAPHORE). fdinfo shows both,
// so dump reads them without touching the process; restore creates the eventfd with its counter.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "files.pb.h"
#include "ns/time_namespace.h"
#include "state/files/fd_kinds.h"

namespace cryo::state {

Result<> collect_eventfd(const FdCollect& in, image::Fd& out);
void validate_eventfd(const image::Fd& fd, const std::set<int>& numbers, const std::string& name, std::vector<std::string>* problems);
Result<int> install_eventfd(const image::Fd& fd, const FdInstall& at);

}  // namespace cryo::state
