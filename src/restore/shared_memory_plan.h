// Copy-on-write sharing between a parent and the children it forked, given back by restore.
//
// Pages a child inherited and neither has written since are one physical page in both; nothing
// after fork can make two processes share a private page again. So a placeholder maps, before it
// forks its children, the private anonymous VMAs whose pages a child shares with it (the dump
// recorded them: Pagemap.shared_with_parent) and writes its own pages into them; the children
// inherit them by fork. When cryo later turns a placeholder into its process, it keeps those VMAs
// instead of unmapping them, writes only the pages that are not in place already, and drops
// what the placeholder inherited but the process does not have. Where an address is taken by the
// placeholder's own memory (cryo's binary, libraries, heap, stack), the VMA is not seeded and is
// restored as every other one: its content is exact either way, only the sharing is lost.
//
// Everything here is pure and deterministic: the placeholder computes its own plan while it seeds
// (restore/memory_seeding.h), and cryo computes the same plans for the whole tree from what each
// placeholder could map (SeedBoard).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "restore/address_plan.h"
#include "image/image_set.h"
#include "image/tree_plan.h"

namespace cryo::restore {

// What of a process's memory is in place when cryo seizes its placeholder.
struct PreparedMemory {
  std::vector<uint8_t> kept;                      // By VMA index: 1 when the VMA is mapped already and stays.
  std::vector<AddressRange> final_pages;          // Sorted: pages of kept VMAs that hold the image's bytes already.
  std::vector<AddressRange> written_before_fork;  // Sorted: the part of final_pages the placeholder writes itself.
};

// Sorted, non-overlapping, page-aligned ranges.
std::vector<AddressRange> intersect_ranges(const std::vector<AddressRange>& a, const std::vector<AddressRange>& b);
std::vector<AddressRange> subtract_ranges(const std::vector<AddressRange>& a, const std::vector<AddressRange>& b);
std::vector<AddressRange> stored_ranges(const image::Pagemap& pagemap);
std::vector<AddressRange> shared_with_parent_ranges(const image::Pagemap& pagemap);
// The parts of the pagemap's runs that lie in `ranges`, with their offsets in the pages file.
std::vector<image::PageRun> runs_within(const image::Pagemap& pagemap, const std::vector<AddressRange>& ranges);

// The index of the process that forks process `index` at restore and is its parent in the image,
// or -1 (the init; a process forked by a helper; a parent that is not in the image).
int forking_parent(const ImageSet& images, const TreePlan& plan, size_t index);

// By VMA index of process `index`: the VMAs that hold pages one of the children it forks shares with it.
std::vector<uint8_t> vmas_to_seed(const ImageSet& images, const TreePlan& plan, size_t index);

// By VMA index of `process`: the VMAs that lie inside a VMA its parent had in place, with the same
// attributes, so that the placeholder has them mapped already (inherited by fork).
std::vector<uint8_t> vmas_in_parent_memory(const ProcessImage& process, const ProcessImage* parent,
                                           const PreparedMemory* parent_memory);

// The plan of `process`: `parent` and `parent_memory` are null unless the parent forked it;
// `seeds` is vmas_to_seed, `seeded` the VMAs the placeholder mapped itself before forking.
PreparedMemory plan_prepared_memory(const ProcessImage& process, const ProcessImage* parent, const PreparedMemory* parent_memory,
                                    const std::vector<uint8_t>& seeds, const std::vector<uint8_t>& seeded);

// The plans of every process (indexed like images.processes), from `seeded_of(index)`, what each
// placeholder mapped. `notes` gets one line per VMA that could not be seeded.
template <typename SeededOf>
std::vector<PreparedMemory> plan_tree_memory(const ImageSet& images, const TreePlan& plan, SeededOf seeded_of,
                                             std::vector<std::string>* notes);

// A VMA whose pages a child shares could not be mapped before the fork: the line for the debug log.
std::string unseeded_note(const ProcessImage& process, int vma);

template <typename SeededOf>
std::vector<PreparedMemory> plan_tree_memory(const ImageSet& images, const TreePlan& plan, SeededOf seeded_of,
                                             std::vector<std::string>* notes) {
  std::vector<PreparedMemory> out(images.processes.size());
  for (size_t index : plan.creation_order) {
    const ProcessImage& process = images.processes[index];
    int parent = forking_parent(images, plan, index);
    const ProcessImage* parent_image = parent >= 0 ? &images.processes[static_cast<size_t>(parent)] : nullptr;
    const PreparedMemory* parent_memory = parent >= 0 ? &out[static_cast<size_t>(parent)] : nullptr;
    std::vector<uint8_t> seeds = vmas_to_seed(images, plan, index);
    std::vector<uint8_t> seeded = seeded_of(index);
    std::vector<uint8_t> inherited = vmas_in_parent_memory(process, parent_image, parent_memory);
    for (size_t i = 0; i < seeds.size(); ++i)
      if (seeds[i] && !inherited[i] && (i >= seeded.size() || !seeded[i])) notes->push_back(unseeded_note(process, static_cast<int>(i)));
    out[index] = plan_prepared_memory(process, parent_image, parent_memory, seeds, seeded);
  }
  return out;
}

}  // namespace cryo::restore
