// The temporary directories of dumps (DIR.cryo-tmp-XXXXXX, beside DIR), and the removal of those
// whose dump is no longer running. A dump holds an exclusive flock on its temporary directory for its
// whole life (the kernel drops it when the process dies, however it dies), so a later cryo that gets
// that lock knows no cryo uses the directory any more. The lock is taken while a shared lock on the
// parent is held, and the sweep holds the parent's exclusive lock: a directory just made and not
// yet locked is never taken for stale.
#pragma once

#include <string>
#include <vector>

#include "base/dir_fd.h"
#include "base/error.h"

namespace cryo::image {

// "DIR.cryo-tmp-": what every temporary directory of a dump into final_name starts with.
std::string temp_dir_prefix(const std::string& final_name);
// Whether `name` is one of them: the prefix and six characters of mkdtemp's alphabet.
bool is_temp_dir_of(const std::string& name, const std::string& final_name);

// Makes and locks a new temporary directory for a dump into parent/final_name, 0700.
Result<DirFd> make_locked_temp_dir(const DirFd& parent, const std::string& final_name, std::string* temp_name);

// Removes every temporary directory beside final_name that no running cryo holds, without following
// symlinks, and only directories owned by this user. Returns the names removed. Anything it cannot
// prove stale, or cannot remove, is left alone.
std::vector<std::string> remove_stale_temp_dirs(const DirFd& parent, const std::string& final_name);

// Removes the (flat) contents of dir, then dir itself from parent. Entries are unlinked, never
// followed; a subdirectory (which cryo never makes) stays, and so does dir then.
void remove_flat_dir(const DirFd& parent, const std::string& name, const DirFd& dir);

}  // namespace cryo::image
