// The System V shared memory segments of sysv.img, recreated in the restored tree's new IPC
// namespace with their ids, keys, owners, modes and bytes before any process attaches them
// (memory_restorer.cc attaches each mapping with an injected shmat). A helper joins the namespace
// and creates them; it stays attached to the removed (IPC_RMID) segments, which it removes at once
// (freeing their keys), until every process has attached them: finish() lets it go.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "restore/image_set.h"

namespace cryo::restore {

class SysvSegments {
 public:
  // Creates every segment in the IPC namespace of `init` (host pid).
  static Result<SysvSegments> create(const image::SysvIpc& ipc, pid_t init);
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
