#include "ns/proc_mount.h"

#include <sys/mount.h>

namespace cryo {

Result<> mount_private_proc() {
  // The new mount namespace starts as a copy of the host's with shared propagation (systemd makes /
  // shared); without MS_PRIVATE the new /proc would be mounted on the host's /proc too.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return fail_errno("mount(/, MS_REC|MS_PRIVATE)");
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    return fail_errno("mount(proc, /proc)");
  return {};
}

}  // namespace cryo
