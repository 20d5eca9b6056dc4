// Restore's last step before the release: reads the fingerprint of every rebuilt process (still
// stopped) and compares it with the one recorded at the dump (src/verify/). A restored tree is
// released only when everything the kernel shows of it matches the dump.
#pragma once

#include "base/error.h"
#include "image/image_set.h"
#include "restore/placeholder_tree.h"
#include "restore/vdso_proxy.h"

namespace cryo::restore {

// Logs every difference at debug level; fails on the first one no rule allows, naming the process,
// the field, the old value and the new. An image without fingerprints passes, and the log says so.
// After a vdso redirect, the vdso mappings and the proxy are left out on both sides.
// With `lazy` (--lazy), the restored mappings that the page server holds show VmFlags um, which is
// not compared; their pages are not in place yet and are not compared either (none are: the
// fingerprints hold no page contents, the workloads check their memory themselves).
Result<> verify_restored_tree(const ImageSet& images, const PlaceholderTree& tree, const VdsoRedirect& vdso, bool lazy = false);

}  // namespace cryo::restore
