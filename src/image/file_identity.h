// How a dump identifies a file it refers to (base/file_util.h reads the target of its /proc link):
// the identity (device, inode, size, mtime, mode) that restore checks before using the file again.
#pragma once

#include <sys/stat.h>

#include <string>

#include "base/error.h"
#include "common.pb.h"

namespace cryo {

// stat() through a /proc link (it follows to the file itself, in whatever mount namespace it is).
Result<struct stat> stat_path(const std::string& path);
void set_identity(const struct stat& st, image::FileIdentity* identity);
// The statfs f_type of the filesystem `path` (a /proc link, followed) leads to; 0 when it has gone
// (the stat that follows reports a vanished file).
unsigned long filesystem_magic(const std::string& path);

}  // namespace cryo
