// Puts back the files `cryo dump --include` carried (included.img) where this host lacks them: at
// their path, with their mode, owner and mtime. Never over anything already there, never through a
// symbolic link (each directory on the way is opened with O_NOFOLLOW), creating missing directories
// (0755, root's) on the way.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "included.pb.h"

namespace cryo::restore {

// Returns the paths it created. A path that exists is left alone: the pre-flight compared it.
Result<std::vector<std::string>> put_back_included(const image::IncludedFiles& included);

}  // namespace cryo::restore
