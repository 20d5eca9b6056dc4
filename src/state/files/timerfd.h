// timerfd_create(2): a timer on one clock, its time left, its period, its settime flags and the
// expirations not read yet. fdinfo shows all of it; restore arms a new timer the same way
// (timerfd.cc says how each kind of timer comes back).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "files.pb.h"
#include "ns/time_namespace.h"
#include "state/files/fd_kinds.h"

namespace cryo::state {

Result<> collect_timerfd(const FdCollect& in, image::Fd& out);
void validate_timerfd(const image::Fd& fd, const std::set<int>& numbers, const std::string& name, std::vector<std::string>* problems);
// A timer's time left was read a moment apart for each holder and may differ.
bool same_timerfd(const image::Fd& a, const image::Fd& b);
// A timer is armed here and runs from now on, like every clock of the tree after restore.
Result<int> install_timerfd(const image::Fd& fd, const FdInstall& at);

}  // namespace cryo::state
