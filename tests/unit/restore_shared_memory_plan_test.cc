// The plan of copy-on-write sharing at restore: which VMAs a placeholder maps before forking, which
// a child keeps from its parent, and which pages are in place already (so are not written again).
#include <sys/mman.h>

#include <gtest/gtest.h>

#include "restore/shared_memory_plan.h"

namespace cryo::restore {

// For the expectations (found by argument-dependent lookup, so not in the unnamed namespace).
bool operator==(const AddressRange& a, const AddressRange& b) { return a.start == b.start && a.end == b.end; }

namespace {

constexpr uint64_t kBase = 0x7f0000000000;
constexpr uint64_t P = kPageSize;

using Ranges = std::vector<AddressRange>;

void add_vma(ProcessImage& p, uint64_t start, uint64_t end, uint32_t flags = MAP_PRIVATE | MAP_ANONYMOUS) {
  auto* vma = p.mm.add_vmas();
  vma->set_start(start);
  vma->set_end(end);
  vma->set_prot(PROT_READ | PROT_WRITE);
  vma->set_kind(image::VMA_ANON_PRIVATE);
  vma->set_flags(flags);
}

void store(ProcessImage& p, uint64_t start, uint64_t pages) {
  uint64_t offset = p.pagemap.pages_file_size();
  auto* run = p.pagemap.add_runs();
  run->set_vaddr(start);
  run->set_nr_pages(pages);
  run->set_offset(offset);
  p.pagemap.set_pages_file_size(offset + pages * P);
}

void share(ProcessImage& p, uint64_t start, uint64_t pages) {
  auto* span = p.pagemap.add_shared_with_parent();
  span->set_vaddr(start);
  span->set_nr_pages(pages);
}

// pid 1 forks pid 2, which forks pid 3. Each has one VMA of 10 pages at kBase, all stored.
struct Tree {
  ImageSet images;
  TreePlan plan;
  Tree() {
    for (uint32_t pid = 1; pid <= 3; ++pid) {
      ProcessImage p;
      p.entry.set_pid(pid);
      p.entry.set_ppid(pid - 1);
      add_vma(p, kBase, kBase + 10 * P);
      store(p, kBase, 10);
      images.index[pid] = pid - 1;
      images.processes.push_back(p);
    }
    plan.processes.resize(3);
    plan.processes[0].children = {1};
    plan.processes[1].children = {2};
    plan.creation_order = {0, 1, 2};
  }
  ProcessImage& process(int i) { return images.processes[static_cast<size_t>(i)]; }
  // Every placeholder could map what it wanted.
  std::vector<PreparedMemory> plans() {
    std::vector<std::string> notes;
    return plan_tree_memory(images, plan, [&](size_t i) { return vmas_to_seed(images, plan, i); }, &notes);
  }
};

TEST(SharedMemoryPlan, RangeArithmetic) {
  Ranges a{{0x1000, 0x5000}, {0x8000, 0x9000}};
  Ranges b{{0x2000, 0x3000}, {0x4000, 0x8800}};
  EXPECT_EQ(intersect_ranges(a, b), (Ranges{{0x2000, 0x3000}, {0x4000, 0x5000}, {0x8000, 0x8800}}));
  EXPECT_EQ(subtract_ranges(a, b), (Ranges{{0x1000, 0x2000}, {0x3000, 0x4000}, {0x8800, 0x9000}}));
  EXPECT_EQ(subtract_ranges(a, {}), a);
  EXPECT_TRUE(intersect_ranges(a, {}).empty());
}

TEST(SharedMemoryPlan, RunsWithinKeepTheirOffsetsInThePagesFile) {
  ProcessImage p;
  store(p, 0x10000, 4);  // offsets 0..0x4000
  store(p, 0x20000, 2);  // offsets 0x4000..0x6000
  auto runs = runs_within(p.pagemap, {{0x12000, 0x21000}});
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].vaddr(), 0x12000u);
  EXPECT_EQ(runs[0].nr_pages(), 2u);
  EXPECT_EQ(runs[0].offset(), 0x2000u);
  EXPECT_EQ(runs[1].vaddr(), 0x20000u);
  EXPECT_EQ(runs[1].nr_pages(), 1u);
  EXPECT_EQ(runs[1].offset(), 0x4000u);
}

TEST(SharedMemoryPlan, ParentSeedsAndChildKeepsOnlyTheSharedPagesInPlace) {
  Tree t;
  share(t.process(1), kBase + 2 * P, 8);  // pages 0-1 pid 2's own
  auto plans = t.plans();
  EXPECT_EQ(vmas_to_seed(t.images, t.plan, 0), (std::vector<uint8_t>{1}));
  EXPECT_EQ(plans[0].kept, (std::vector<uint8_t>{1}));
  EXPECT_EQ(plans[0].written_before_fork, (Ranges{{kBase, kBase + 10 * P}}));
  EXPECT_EQ(plans[0].final_pages, (Ranges{{kBase, kBase + 10 * P}}));
  EXPECT_EQ(plans[1].kept, (std::vector<uint8_t>{1}));
  EXPECT_EQ(plans[1].final_pages, (Ranges{{kBase + 2 * P, kBase + 10 * P}}));
  EXPECT_TRUE(plans[1].written_before_fork.empty());
  // pid 3 shares nothing: it gets the VMA of its own.
  EXPECT_EQ(plans[2].kept, (std::vector<uint8_t>{0}));
}

TEST(SharedMemoryPlan, AChainSharesThroughTheMiddleProcess) {
  Tree t;
  share(t.process(1), kBase + 2 * P, 8);  // pid 2: pages 2-9 are pid 1's
  share(t.process(2), kBase, 6);          // pid 3: pages 0-5 are pid 2's (0-1 its own, 2-5 pid 1's)
  auto plans = t.plans();
  // pid 2 seeds the VMA it inherited: it writes its own pages 0-1 before forking pid 3.
  EXPECT_EQ(plans[1].kept, (std::vector<uint8_t>{1}));
  EXPECT_EQ(plans[1].written_before_fork, (Ranges{{kBase, kBase + 2 * P}}));
  EXPECT_EQ(plans[1].final_pages, (Ranges{{kBase, kBase + 10 * P}}));
  EXPECT_EQ(plans[2].kept, (std::vector<uint8_t>{1}));
  EXPECT_EQ(plans[2].final_pages, (Ranges{{kBase, kBase + 6 * P}}));
}

TEST(SharedMemoryPlan, AVmaThePlaceholderCouldNotMapIsWrittenInFull) {
  Tree t;
  share(t.process(1), kBase, 10);
  std::vector<std::string> notes;
  auto plans = plan_tree_memory(t.images, t.plan, [](size_t) { return std::vector<uint8_t>{0}; }, &notes);
  EXPECT_EQ(plans[0].kept, (std::vector<uint8_t>{0}));
  EXPECT_EQ(plans[1].kept, (std::vector<uint8_t>{0}));
  EXPECT_TRUE(plans[1].final_pages.empty());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("pid 1: mapping"), std::string::npos) << notes[0];
}

TEST(SharedMemoryPlan, OnlyPagesTheParentStoresAreInPlace) {
  Tree t;
  t.process(0).pagemap.Clear();
  store(t.process(0), kBase, 4);          // pid 1 has pages 0-3 only
  share(t.process(1), kBase, 10);         // pid 2 claims all ten
  auto plans = t.plans();
  EXPECT_EQ(plans[1].final_pages, (Ranges{{kBase, kBase + 4 * P}}));
}

TEST(SharedMemoryPlan, AChildVmaWithOtherAttributesIsNotKept) {
  Tree t;
  share(t.process(1), kBase, 10);
  t.process(1).mm.mutable_vmas(0)->set_flags(MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN);
  auto plans = t.plans();
  EXPECT_EQ(plans[0].kept, (std::vector<uint8_t>{1}));
  EXPECT_EQ(plans[1].kept, (std::vector<uint8_t>{0}));
  EXPECT_TRUE(plans[1].final_pages.empty());
}

TEST(SharedMemoryPlan, AChildVmaInsideTheParentsIsKeptAndOneOutsideIsNot) {
  Tree t;
  ProcessImage& child = t.process(1);
  child.mm.Clear();
  child.pagemap.Clear();
  add_vma(child, kBase + 2 * P, kBase + 4 * P);    // inside the parent's
  add_vma(child, kBase + 8 * P, kBase + 12 * P);   // runs past its end
  store(child, kBase + 2 * P, 2);
  store(child, kBase + 8 * P, 4);
  share(child, kBase + 2 * P, 2);
  share(child, kBase + 8 * P, 2);
  auto plans = t.plans();
  EXPECT_EQ(plans[1].kept, (std::vector<uint8_t>{1, 0}));
  EXPECT_EQ(plans[1].final_pages, (Ranges{{kBase + 2 * P, kBase + 4 * P}}));
}

TEST(SharedMemoryPlan, AProcessForkedByAHelperInheritsNothing) {
  Tree t;
  share(t.process(1), kBase, 10);
  t.plan.processes[0].children.clear();  // pid 2 is forked by a helper (its parent is still pid 1)
  EXPECT_EQ(forking_parent(t.images, t.plan, 1), -1);
  auto plans = t.plans();
  EXPECT_EQ(plans[0].kept, (std::vector<uint8_t>{0}));
  EXPECT_EQ(plans[1].kept, (std::vector<uint8_t>{0}));
}

}  // namespace
}  // namespace cryo::restore
