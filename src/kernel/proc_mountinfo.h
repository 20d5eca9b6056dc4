// /proc/PID/mountinfo: the mounts a process sees. Dump compares the tree's mounts with cryo's own,
// because restore gives the tree a copy of the restoring cryo's mounts (plus a fresh /proc): a
// mount the tree made itself would be missing after the restore.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace cryo {

// One line, without the mount IDs and the device number, which differ between mount namespaces
// for the same mount.
struct MountEntry {
  std::string root;           // The directory of the filesystem mounted here ("/" or a bind's subtree).
  std::string mount_point;
  std::string mount_options;  // Per mount: rw/ro, nosuid, nodev, noexec, relatime ...
  std::string fs_type;
  std::string source;
  std::string super_options;  // Per filesystem.
  bool operator==(const MountEntry&) const = default;
  auto operator<=>(const MountEntry&) const = default;
  // "tmpfs on /data (rw,relatime)"
  std::string describe() const;
};

// Every line, in order; paths have the kernel's octal escapes (\040 for a space) undone.
Result<std::vector<MountEntry>> parse_mountinfo(std::string_view text);

Result<std::vector<MountEntry>> read_mountinfo(pid_t pid);

// The mounts of the filesystem whose device is major:minor (the MAJ:MIN field), in order: what
// open_by_handle_at needs a mount of. The device number is the one thing MountEntry leaves out.
struct DeviceMount {
  std::string root;           // The subtree of the filesystem mounted here ("/" for a whole one).
  std::string mount_point;
};
Result<std::vector<DeviceMount>> mounts_of_device(std::string_view text, unsigned major, unsigned minor);

}  // namespace cryo
