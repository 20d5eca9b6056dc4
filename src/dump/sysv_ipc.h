// System V IPC objects of a tree that has its own IPC namespace, into sysv.img: shared memory
// segments (ids, keys, owners, modes and bytes, read from a helper that joins the namespace),
// semaphore sets (values) and message queues (messages in order; sysv_sem_msg.cc). A tree that
// shares the host's IPC namespace has its SysV mappings refused by the memory map.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "dump/memory_objects.h"
#include "sysv.pb.h"

namespace cryo::dump {

struct SysvObject {
  std::string kind;  // "shared memory segment", "semaphore set", "message queue"
  int64_t key = 0;
  int64_t id = 0;
};

// The objects listed in the text of one /proc/sysvipc file (a header line, then one per line).
Result<std::vector<SysvObject>> parse_sysvipc(std::string_view text, const std::string& kind);

// The segments of /proc/sysvipc/shm text, without contents: key, id, mode (perms & 0777, with
// removed and locked from SHM_DEST and SHM_LOCKED), size and the four owner ids.
Result<image::SysvIpc> parse_sysvipc_shm(std::string_view text);

// One process's attachment of a segment, as its memory map shows it.
struct SysvMapping {
  uint32_t pid = 0;  // Inside the tree, for messages.
  uint64_t start = 0, end = 0, pgoff = 0;
  uint64_t shmid = 0;
  std::string path;  // "/SYSV%08x (deleted)"
};

// Restore attaches whole segments with shmat: refuses a mapping that is only part of its segment,
// or of a segment the namespace does not hold, and a removed segment no process of the tree maps
// (a process outside holds it). Sets each removed segment's creation_key from its mappings' names.
Result<> check_sysv_mappings(image::SysvIpc& ipc, const std::vector<SysvMapping>& mappings);

// Every SysV object of the IPC namespace of `pid`: shared memory segments (their data pages
// appended to the object pages file by `pages`, as runs), semaphore sets and message queues
// (collect_sysv_sem_msg), and the namespace's sysctls (image/ipc_sysctls.h); refuses
// kernel.shm_rmid_forced. The tree must be frozen.
Result<image::SysvIpc> collect_sysv_ipc(pid_t pid, MemoryObjectCollector& pages);

// Adds the semaphore sets (with every value) and message queues (with every message, oldest
// first, read without taking them) of the IPC namespace of `pid` to `ipc`, sorted by id. Refuses
// messages the kernel cannot copy (no CONFIG_CHECKPOINT_RESTORE, or longer than kernel.msgmax)
// and more bytes than sysv.img's record holds (image::kMaxSysvBytes). The tree must be frozen.
Result<> collect_sysv_sem_msg(pid_t pid, image::SysvIpc& ipc);

}  // namespace cryo::dump
