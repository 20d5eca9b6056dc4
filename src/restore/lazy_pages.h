// `cryo restore --lazy`: which stored pages wait for the page server instead of being written before
// the release, and how a process's mappings are handed to it. The pages of a lazy mapping are not
// copied by restore_memory(); the mapping is registered with a userfaultfd that is created inside
// the process (so that it belongs to the process's mm), taken out of it with pidfd_getfd and closed
// there again, and served from the pages file by restore/page_server.h. Nothing of it is left in
// the process once every page is in place.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "image/image_set.h"
#include "ptrace/remote_task.h"
#include "restore/address_plan.h"

namespace cryo::restore {

class PageServer;

// Private anonymous mappings of at least this size are served lazily; smaller ones cost less to
// copy before the release than a fault after it.
constexpr uint64_t kLazyMappingMinSize = uint64_t{1} << 20;

// Whether the stored pages of `vma` may wait for the page server. Everything that makes the kernel
// touch the pages before the release (mlock, guards), or that a userfaultfd registration cannot
// carry (seals, droppable and growing mappings, KSM) stays eager, and so does a mapping the
// placeholder has in place already (`kept`), shared copy-on-write with its family.
bool may_serve_lazily(const image::Vma& vma, bool kept, bool ksm_merge_any);

// A contiguous piece of stored pages: [start, end) in the process, from `offset` in the page data.
struct PagePiece {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t offset = 0;
};

// The stored pages of one process that are not in place yet, by address. Pure bookkeeping: the
// page server takes pieces out as it copies them, and moves or drops them as the process remaps or
// discards its memory.
class PendingPages {
 public:
  void add(const PagePiece& piece);
  bool empty() const { return pieces_.empty(); }
  uint64_t bytes() const;
  // The pending part of the window of `window` bytes (a power of two) that holds `address`, taken
  // out; nothing when `address` holds no pending page.
  std::optional<PagePiece> take_around(uint64_t address, uint64_t window);
  // Up to `max_bytes` of the lowest pending piece, taken out.
  std::optional<PagePiece> take_first(uint64_t max_bytes);
  // Gives a piece back (a copy that must be tried again).
  void put_back(const PagePiece& piece) { add(piece); }
  // The process discarded or unmapped [start, end): those pages are not the image's any more.
  void drop(uint64_t start, uint64_t end);
  // The process moved [from, from + size) to `to` (mremap): its pending pages move with it.
  void move(uint64_t from, uint64_t to, uint64_t size);

 private:
  // Cuts pieces at `address`, so that no piece straddles it.
  void split_at(uint64_t address);
  std::map<uint64_t, PagePiece> pieces_;  // By start; never overlapping.
};

// Splits `runs` into those written now (returned) and those of lazy mappings (appended to `lazy`,
// with the whole mappings they lie in, in `ranges`).
std::vector<image::PageRun> split_lazy_runs(const image::MemoryMap& mm, const std::vector<uint8_t>& kept,
                                            const std::vector<image::PageRun>& runs, std::vector<image::PageRun>* lazy,
                                            std::vector<AddressRange>* ranges);

// Creates a userfaultfd inside the tracee, takes it, registers `ranges` for missing pages, and
// hands it with the pending `runs` (their data in the process's pages file) to `server`. From then
// on the server answers every fault in those ranges, also those of the restore's own syscalls.
Result<> hand_to_page_server(RemoteTask& task, const ProcessImage& process, const DirFd& image_dir,
                             const std::vector<image::PageRun>& runs, const std::vector<AddressRange>& ranges, PageServer& server);

}  // namespace cryo::restore
