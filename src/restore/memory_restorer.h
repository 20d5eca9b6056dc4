// Replaces a seized placeholder's memory with the image's: everything of the placeholder goes but the
// trampoline and the vdso (which moves to where the image had it), then every VMA is mapped at its
// address, filled from the pages file and given its final protection.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "base/error.h"
#include "image/image_set.h"
#include "restore/shared_memory_plan.h"
#include "restore/vdso_mappings.h"
#include "restore/vdso_proxy.h"
#include "ptrace/remote_task.h"

namespace cryo::restore {

class PageServer;

// Where a trampoline of `size` bytes fits in both the placeholder's and the image's address space.
Result<uint64_t> choose_trampoline(const std::vector<MapsEntry>& placeholder, const image::MemoryMap& image, uint64_t size);

// `placeholder` is the placeholder's maps, read before anything changed. Needs the trampoline.
// `image_dir` holds the process's pages file. `objects` are the fd numbers, in the tracee, of the
// memory objects its mappings name; the caller closes them afterwards. `prepared` says which VMAs
// the placeholder has in place already (shared copy-on-write with its parent or children), and
// which of their pages hold the image's bytes: those VMAs stay and only the rest is written.
// With a `lazy` page server (--lazy), the pages of the mappings lazy_pages.h names are not written
// but left to it.
Result<> restore_memory(RemoteTask& task, const ProcessImage& process, const DirFd& image_dir,
                        const std::vector<MapsEntry>& placeholder, const std::map<uint64_t, int>& objects,
                        const PreparedMemory& prepared, const VdsoRedirect& vdso, PageServer* lazy = nullptr);

}  // namespace cryo::restore
