// Bounds on memory objects (objects.img) that dump and restore both apply.
#pragma once

#include <cstdint>

namespace cryo::image {

// The largest memfd, deleted file or shared anonymous region (by size) cryo stores: 128 TiB, the
// user address space of x86-64 with 4-level page tables, so shared anonymous memory of this size
// can still be mapped by cryo at restore to be filled. Contents are streamed in bounded chunks both
// ways and only data pages are stored, so the size itself costs nothing; what an object holds is
// bounded by the object pages file and by its page runs (kMaxObjectRunsBytes).
inline constexpr uint64_t kMaxObjectBytes = 1ull << 47;

// The page runs of all objects live in objects.img's one record (framed_file.h's kMaxRecordSize):
// dump refuses an object whose data is scattered into more runs than fit, naming it, rather than
// fail writing the record. The margin leaves room for the objects' other fields.
inline constexpr uint64_t kMaxObjectRunsBytes = 240ull << 20;

// The bytes of queued SysV messages cryo stores (and of segments in images from before segments
// were paged into objpages.img): they go into sysv.img's one record (framed_file.h's
// kMaxRecordSize), so dump refuses more and restore's validation refuses an image that claims more.
inline constexpr uint64_t kMaxSysvBytes = 256ull << 20;

// memfd_create(2) names are at most 249 bytes (NAME_MAX minus "memfd:").
inline constexpr uint64_t kMaxMemfdName = 249;

// SysV semaphores and messages (sysv.img) that dump and restore both accept: at most 32768
// semaphores in a set (IPCMNI; the kernel's default semmsl is 32000), 2^20 in all, and 2^22
// queued messages in all (an empty message is 16 bytes of record).
inline constexpr uint64_t kMaxSemsPerSet = 32768;
inline constexpr uint64_t kMaxSemaphores = 1u << 20;
inline constexpr uint64_t kMaxMessages = 1u << 22;

}  // namespace cryo::image
