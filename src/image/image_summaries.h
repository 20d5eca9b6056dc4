// Summaries of an image for people, like CRIU's `crit x`: `cryo show --ps` (the tree), `--fds` (each
// process's files) and `--mems` (each process's mappings and where their pages are), as text or
// JSON. They read the image through the verified reader (open_image_dir first, then each file
// within the size the inventory gives it) and trust none of its values: counts are bounded, ranges
// checked before any arithmetic, strings escaped, a parent loop cannot make the tree walk loop.
#pragma once

#include <string>

#include "base/dir_fd.h"
#include "base/error.h"
#include "image/image_printer.h"
#include "inventory.pb.h"

namespace cryo::image {

enum class Summary { Tree, Fds, Memory };

// The directory must already have been verified by open_image_dir, which gave `inventory`.
Result<std::string> render_summary(const DirFd& dir, const Inventory& inventory, Summary summary, PrintFormat format);

}  // namespace cryo::image
