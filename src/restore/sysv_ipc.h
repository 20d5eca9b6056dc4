// The System V objects of sysv.img, recreated in the restored tree's new IPC namespace with their
// ids, keys, owners and modes before any process uses them: shared memory segments with their
// bytes (memory_restorer.cc attaches each mapping with an injected shmat), semaphore sets with
// their values and message queues with their messages (sysv_sem_msg.cc). A helper joins the
// namespace, raises its limits as far as the objects need (raised_ipc_limits), creates them and
// writes the image's sysctls; it stays attached to the removed (IPC_RMID) segments, which it
// removes at once (freeing their keys), until every process has attached them: finish() lets it go.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "image/image_set.h"

namespace cryo::restore {

// The image's limit sysctls (shmmax, msgmax, sem ...; not the *_next_id ones) with each raised to
// what the image's objects need to be created (a set's nsems, a message's size, a queue's
// msg_qbytes, the number of each kind ...): a limit lowered after its objects existed would
// refuse them. Only those present in the image, in its order.
std::vector<image::IpcSysctl> raised_ipc_limits(const image::SysvIpc& ipc);

class SysvSegments {
 public:
  // Creates every segment, semaphore set and message queue in the IPC namespace of `init` (host
  // pid). Paged segments are filled from `object_pages`, the open object pages file.
  static Result<SysvSegments> create(const image::SysvIpc& ipc, pid_t init, int object_pages = -1);
  SysvSegments() = default;
  SysvSegments(SysvSegments&& other) noexcept;
  SysvSegments& operator=(SysvSegments&&) = delete;
  ~SysvSegments();
  // Once every process has attached its segments: the helper detaches and exits.
  Result<> finish();

 private:
  pid_t helper_ = 0;
  UniqueFd hold_;  // The helper waits until this closes.
};

}  // namespace cryo::restore
