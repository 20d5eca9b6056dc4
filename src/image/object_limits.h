// Bounds on memory objects (objects.img) that dump and restore both apply.
#pragma once

#include <cstdint>

namespace cryo::image {

// The largest memfd, deleted file or shared anonymous region (by size) cryo stores: dump refuses a
// bigger one, naming it, and restore's validation refuses an image that claims one. 256 MiB keeps
// a dump's frozen time and image size bounded for what are usually small objects; larger shared
// memory should be a file that stays on disk.
inline constexpr uint64_t kMaxObjectBytes = 256ull << 20;

// memfd_create(2) names are at most 249 bytes (NAME_MAX minus "memfd:").
inline constexpr uint64_t kMaxMemfdName = 249;

// SysV semaphores and messages (sysv.img) that dump and restore both accept: at most 32768
// semaphores in a set (IPCMNI; the kernel's default semmsl is 32000), 2^20 in all, and 2^22
// queued messages in all (an empty message is 16 bytes of record).
inline constexpr uint64_t kMaxSemsPerSet = 32768;
inline constexpr uint64_t kMaxSemaphores = 1u << 20;
inline constexpr uint64_t kMaxMessages = 1u << 22;

}  // namespace cryo::image
