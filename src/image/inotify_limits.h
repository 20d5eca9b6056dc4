// Bounds on inotify fds that dump and restore both apply.
#pragma once

#include <cstdint>

namespace cryo::image {

// Restore gives each watch its wd by adding a throwaway watch for every number below it that no live
// watch has (the kernel hands wds out cyclically), about 6 us each: an fd whose watches skip more
// numbers than this (a daemon that re-added watches a million times, a wd counter that wrapped
// around) would take seconds, so the dump refuses it and restore's validation refuses an image that
// claims one.
inline constexpr int64_t kMaxInotifySkippedWds = 1 << 20;

}  // namespace cryo::image
