#include "restore/memory_seeding.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

#include "base/hex.h"
#include "image/page_data.h"

namespace cryo::restore {
namespace {

// Maps `vma` at its address unless something of the placeholder is there already.
bool map_seed(const image::Vma& vma) {
  void* want = reinterpret_cast<void*>(vma.start());
  size_t size = vma.end() - vma.start();
  int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | static_cast<int>(vma.flags() & (MAP_GROWSDOWN | MAP_NORESERVE));
  void* got = ::mmap(want, size, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (got == MAP_FAILED) return false;
  if (got != want) {
    // A kernel without MAP_FIXED_NOREPLACE (before 4.17) takes the address as a hint only.
    ::munmap(got, size);
    return false;
  }
  // Before the pages arrive, so that they land in huge pages right away (as restore_memory does).
  if (vma.madv_hugepage() && ::madvise(want, size, MADV_HUGEPAGE) != 0) {
    ::munmap(want, size);
    return false;
  }
  return true;
}

Result<> write_own_pages(const ProcessImage& process, const DirFd& dir, const std::vector<AddressRange>& ranges) {
  if (ranges.empty()) return {};
  ASSIGN_OR_RETURN(image::PageData pages, image::PageData::open(dir, process.pages_name, process.pagemap, false));
  for (const auto& run : runs_within(process.pagemap, ranges))
    RETURN_IF_ERROR_CTX(pages.copy(run.offset(), run.nr_pages() * kPageSize, reinterpret_cast<char*>(run.vaddr())),
                        "seed pages at " + hex(run.vaddr()));
  return {};
}

}  // namespace

Result<PreparedMemory> seed_shared_memory(const PlaceholderContext& ctx, size_t index, int inherited_from,
                                          const PreparedMemory* inherited) {
  const ImageSet& images = *ctx.images;
  const ProcessImage& process = images.processes[index];
  // Only the plan of the parent that forked this process counts (the same rule cryo applies).
  int parent = forking_parent(images, *ctx.plan, index);
  const ProcessImage* parent_image = nullptr;
  const PreparedMemory* parent_memory = nullptr;
  if (parent >= 0 && parent == inherited_from && inherited) {
    parent_image = &images.processes[static_cast<size_t>(parent)];
    parent_memory = inherited;
  }
  std::vector<uint8_t> seeds = vmas_to_seed(images, *ctx.plan, index);
  std::vector<uint8_t> in_parent = vmas_in_parent_memory(process, parent_image, parent_memory);
  std::vector<uint8_t> seeded(seeds.size(), 0);
  for (size_t i = 0; i < seeds.size(); ++i)
    if (seeds[i] && !in_parent[i]) seeded[i] = map_seed(process.mm.vmas(static_cast<int>(i)));
  PreparedMemory plan = plan_prepared_memory(process, parent_image, parent_memory, seeds, seeded);
  RETURN_IF_ERROR_CTX(write_own_pages(process, *images.dir_fd, plan.written_before_fork), "shared memory");
  if (ctx.seed_board) ctx.seed_board->record(index, seeded);
  return plan;
}

}  // namespace cryo::restore
