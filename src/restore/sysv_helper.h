// What the SysV restore helper (restore/sysv_ipc.cc) shares with the files that create its kinds of
// objects: it runs after fork, in the tree's new IPC namespace, so only async-signal-safe calls and
// no allocation; a failure is reported to cryo as one Report, and the helper exits.
#pragma once

#include <sys/types.h>

#include <cstddef>

#include "sysv.pb.h"

namespace cryo::restore::sysv_helper {

// The step that failed, the object's index and errno (for kWrongId: the id it got).
enum Step : int { kDone = '=', kSetns = 's', kNextId = 'n', kCreds = 'c', kGet = 'g', kWrongId = 'i', kStat = 't', kSet = 'e',
                  kAttach = 'a', kRemove = 'r', kLock = 'l', kSysctl = 'y', kLimit = 'L', kSetAll = 'A', kSend = 'm',
                  kQbytes = 'q', kFill = 'f' };

// Which kind of object Report::index counts.
enum Object : int { kSegment = 0, kSemSet = 1, kMsgQueue = 2, kSysctlObject = 3 };

struct Report {
  int step = 0;
  int index = 0;
  int value = 0;
  int object = kSegment;
};

[[noreturn]] void report_and_exit(int out, Step step, int index, int value, Object object = kSegment);

// Decimal text of a non-negative int into `out` (16 bytes suffice); returns its length.
size_t decimal(int value, char* out);

// Writes `id` to /proc/sys/kernel/<file> (shm_next_id ...): the next object of that kind created in
// the writer's IPC namespace takes it.
bool write_next_id(const char* file, int id);

// The creating process's euid/egid become an object's cuid/cgid: the helper (root) takes the
// creator's as effective ids and comes back through the saved ids.
bool become_creator(uid_t cuid, gid_t cgid);
bool become_root();

// Scratch memory made before the fork: the largest message with its mtype, and the values of the
// largest semaphore set; and the object pages file that paged segments are filled from (-1: none).
struct Scratch {
  char* message = nullptr;
  unsigned short* values = nullptr;
  int object_pages = -1;
};

// Creates every semaphore set and message queue of `ipc` with its id, key, creator, owner, mode,
// values and messages; reports and exits on a failure.
void create_sem_sets(const image::SysvIpc& ipc, const Scratch& scratch, int out);
void create_msg_queues(const image::SysvIpc& ipc, const Scratch& scratch, int out);

}  // namespace cryo::restore::sysv_helper
