#include "restore/lazy_pages.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <memory>

#include "base/hex.h"
#include "base/logging.h"
#include "image/page_data.h"
#include "ptrace/injected_fd.h"
#include "restore/page_server.h"

namespace cryo::restore {

bool may_serve_lazily(const image::Vma& vma, bool kept, bool ksm_merge_any) {
  if (vma.kind() != image::VMA_ANON_PRIVATE || vma.object_id() != 0 || kept || ksm_merge_any) return false;
  if (vma.end() - vma.start() < kLazyMappingMinSize) return false;
  // mlock faults every page in before the release; a guard's removal refills a page through
  // /proc/PID/mem; a sealed mapping must keep its flags; a droppable one is a mapping type of its
  // own; a stack grows into memory no registration covers; KSM merges behind the server's back.
  if (vma.locked() || vma.lock_onfault() || vma.maybe_guard() || vma.sealed() || vma.droppable() || vma.madv_mergeable()) return false;
  if ((vma.flags() & MAP_GROWSDOWN) || vma.path() == "[stack]") return false;
  return true;
}

void PendingPages::add(const PagePiece& piece) {
  if (piece.start < piece.end) pieces_[piece.start] = piece;
}

uint64_t PendingPages::bytes() const {
  uint64_t total = 0;
  for (const auto& [start, piece] : pieces_) total += piece.end - piece.start;
  return total;
}

void PendingPages::split_at(uint64_t address) {
  auto it = pieces_.upper_bound(address);
  if (it == pieces_.begin()) return;
  --it;
  PagePiece& piece = it->second;
  if (piece.start >= address || piece.end <= address) return;
  PagePiece tail{address, piece.end, piece.offset + (address - piece.start)};
  piece.end = address;
  pieces_[address] = tail;
}

std::optional<PagePiece> PendingPages::take_around(uint64_t address, uint64_t window) {
  uint64_t from = address & ~(window - 1), to = from + window;
  auto it = pieces_.upper_bound(address);
  if (it == pieces_.begin()) return std::nullopt;
  --it;
  if (it->second.end <= address) return std::nullopt;
  // Only the piece that holds the address: its neighbours in the window come with the next faults.
  from = std::max(from, it->second.start);
  to = std::min(to, it->second.end);
  split_at(from);
  split_at(to);
  auto taken = pieces_.find(from);
  PagePiece piece = taken->second;
  pieces_.erase(taken);
  return piece;
}

std::optional<PagePiece> PendingPages::take_first(uint64_t max_bytes) {
  if (pieces_.empty()) return std::nullopt;
  auto it = pieces_.begin();
  if (it->second.end - it->second.start > max_bytes) split_at(it->second.start + max_bytes);
  it = pieces_.begin();
  PagePiece piece = it->second;
  pieces_.erase(it);
  return piece;
}

void PendingPages::drop(uint64_t start, uint64_t end) {
  split_at(start);
  split_at(end);
  pieces_.erase(pieces_.lower_bound(start), pieces_.lower_bound(end));
}

void PendingPages::move(uint64_t from, uint64_t to, uint64_t size) {
  split_at(from);
  split_at(from + size);
  std::vector<PagePiece> moved;
  for (auto it = pieces_.lower_bound(from); it != pieces_.end() && it->first < from + size;) {
    PagePiece piece = it->second;
    piece.start = piece.start - from + to;
    piece.end = piece.end - from + to;
    moved.push_back(piece);
    it = pieces_.erase(it);
  }
  // What was at the target before is gone: mremap unmapped it.
  drop(to, to + size);
  for (const auto& piece : moved) add(piece);
}

std::vector<image::PageRun> split_lazy_runs(const image::MemoryMap& mm, const std::vector<uint8_t>& kept,
                                            const std::vector<image::PageRun>& runs, std::vector<image::PageRun>* lazy,
                                            std::vector<AddressRange>* ranges) {
  std::vector<image::PageRun> eager;
  const auto& vmas = mm.vmas();
  int k = 0;
  int last_range = -1;
  for (const auto& run : runs) {
    // Runs are sorted and lie within one mapping each (validated: the pagemap's runs cover mapped pages only).
    while (k < vmas.size() && vmas[k].end() <= run.vaddr()) ++k;
    bool lazily = k < vmas.size() && vmas[k].start() <= run.vaddr() &&
                  may_serve_lazily(vmas[k], static_cast<size_t>(k) < kept.size() && kept[static_cast<size_t>(k)], mm.ksm_merge_any());
    if (!lazily) {
      eager.push_back(run);
      continue;
    }
    lazy->push_back(run);
    if (last_range != k) ranges->push_back({vmas[k].start(), vmas[k].end()});
    last_range = k;
  }
  return eager;
}

Result<> hand_to_page_server(RemoteTask& task, const ProcessImage& process, const DirFd& image_dir,
                             const std::vector<image::PageRun>& runs, const std::vector<AddressRange>& ranges, PageServer& server) {
  if (runs.empty()) return {};
  // Created by the process itself, so that it tracks the process's mm; cryo keeps the only reference.
  ASSIGN_OR_RETURN_CTX(UniqueFd uffd,
                       take_injected_fd(task.syscalls(), task.host_pid(), "userfaultfd", SYS_userfaultfd, {O_CLOEXEC | O_NONBLOCK}),
                       "take the process's userfaultfd");
  // Forks, mremap, MADV_DONTNEED and munmap of lazy memory are told to the server, which must know
  // them: a child's pages would read zero, moved pages would be filled at their old address, and
  // discarded ones filled with the image's bytes where the process expects zeros.
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP;
  if (::ioctl(uffd.get(), UFFDIO_API, &api) != 0) return fail_errno("ioctl(UFFDIO_API)");
  for (const auto& range : ranges) {
    uffdio_register reg{};
    reg.range = {range.start, range.end - range.start};
    reg.mode = UFFDIO_REGISTER_MODE_MISSING;
    if (::ioctl(uffd.get(), UFFDIO_REGISTER, &reg) != 0)
      return fail_errno("ioctl(UFFDIO_REGISTER " + hex(range.start) + "-" + hex(range.end) + ")");
    if (!(reg.ioctls & (uint64_t{1} << _UFFDIO_COPY)))
      return fail("userfaultfd cannot copy into " + hex(range.start) + "-" + hex(range.end));
  }
  // Its own mapping of the pages file, not populated: the server reads only what it copies.
  ASSIGN_OR_RETURN(image::PageData pages, image::PageData::open(image_dir, process.pages_name, process.pagemap, false));
  PendingPages pending;
  for (const auto& run : runs) pending.add({run.vaddr(), run.vaddr() + run.nr_pages() * kPageSize, run.offset()});
  logging::get("restore")->debug("pid {}: {} bytes in {} mappings left to the page server", process.pid(), pending.bytes(), ranges.size());
  server.add(process.pid(), task.host_pid(), std::move(uffd), std::make_shared<image::PageData>(std::move(pages)), std::move(pending));
  return {};
}

}  // namespace cryo::restore
