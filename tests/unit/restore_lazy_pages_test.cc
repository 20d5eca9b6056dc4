// The page server's bookkeeping (restore/lazy_pages.h): pieces come out around a fault and in order
// for the fill, with their page data offsets, and follow the process's mremap, MADV_DONTNEED and munmap.
#include "restore/lazy_pages.h"

#include <sys/mman.h>

#include <gtest/gtest.h>

namespace cryo::restore {
namespace {

constexpr uint64_t kPage = 4096;

TEST(LazyPages, AFaultTakesThePendingPartOfItsWindow) {
  PendingPages pending;
  pending.add({0x100000, 0x200000, 0});
  auto piece = pending.take_around(0x150123, 0x40000);
  ASSERT_TRUE(piece.has_value());
  EXPECT_EQ(piece->start, 0x140000u);
  EXPECT_EQ(piece->end, 0x180000u);
  EXPECT_EQ(piece->offset, 0x40000u);
  EXPECT_EQ(pending.bytes(), 0x100000u - 0x40000u);
  // The same window again holds nothing pending: the page is a zero page to the server.
  EXPECT_FALSE(pending.take_around(0x150000, 0x40000).has_value());
}

TEST(LazyPages, AWindowIsClippedToThePieceThatHoldsTheFault) {
  PendingPages pending;
  pending.add({0x10000, 0x12000, 0x5000});
  auto piece = pending.take_around(0x11000, 0x40000);
  ASSERT_TRUE(piece.has_value());
  EXPECT_EQ(piece->start, 0x10000u);
  EXPECT_EQ(piece->end, 0x12000u);
  EXPECT_EQ(piece->offset, 0x5000u);
  EXPECT_TRUE(pending.empty());
}

TEST(LazyPages, TheFillTakesPiecesInAddressOrderAndInBatches) {
  PendingPages pending;
  pending.add({0x300000, 0x400000, 0x100000});
  pending.add({0x100000, 0x200000, 0});
  auto first = pending.take_first(0x80000);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->start, 0x100000u);
  EXPECT_EQ(first->end, 0x180000u);
  auto second = pending.take_first(0x80000);
  EXPECT_EQ(second->start, 0x180000u);
  EXPECT_EQ(second->offset, 0x80000u);
  auto third = pending.take_first(0x800000);
  EXPECT_EQ(third->start, 0x300000u);
  EXPECT_EQ(third->end, 0x400000u);
  EXPECT_TRUE(pending.empty());
  EXPECT_FALSE(pending.take_first(kPage).has_value());
}

TEST(LazyPages, DiscardedPagesAreNotFilledAgain) {
  PendingPages pending;
  pending.add({0x100000, 0x110000, 0});
  pending.drop(0x104000, 0x108000);
  EXPECT_EQ(pending.bytes(), 0xc000u);
  EXPECT_FALSE(pending.take_around(0x105000, kPage).has_value());
  auto after = pending.take_around(0x108000, kPage);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->offset, 0x8000u);
}

TEST(LazyPages, MovedPagesAreFilledAtTheirNewAddressFromTheirOldData) {
  PendingPages pending;
  pending.add({0x100000, 0x104000, 0x7000});
  pending.add({0x900000, 0x902000, 0x20000});  // Under the target: mremap unmapped it.
  pending.move(0x102000, 0x900000, 0x2000);
  EXPECT_EQ(pending.bytes(), 0x4000u);
  auto moved = pending.take_around(0x901000, kPage);
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->start, 0x901000u);
  EXPECT_EQ(moved->offset, 0x7000u + 0x3000u);
  EXPECT_FALSE(pending.take_around(0x102000, kPage).has_value());
}

image::Vma anon(uint64_t start, uint64_t end) {
  image::Vma vma;
  vma.set_start(start);
  vma.set_end(end);
  vma.set_prot(PROT_READ | PROT_WRITE);
  vma.set_flags(MAP_PRIVATE | MAP_ANONYMOUS);
  vma.set_kind(image::VMA_ANON_PRIVATE);
  return vma;
}

TEST(LazyPages, OnlyLargePrivateAnonymousMemoryThatNothingTouchesBeforeTheReleaseIsLazy) {
  EXPECT_TRUE(may_serve_lazily(anon(0x100000, 0x300000), false, false));
  EXPECT_FALSE(may_serve_lazily(anon(0x100000, 0x101000), false, false)) << "small";
  EXPECT_FALSE(may_serve_lazily(anon(0x100000, 0x300000), true, false)) << "kept, shared copy-on-write";
  EXPECT_FALSE(may_serve_lazily(anon(0x100000, 0x300000), false, true)) << "KSM merge-any";
  auto locked = anon(0x100000, 0x300000);
  locked.set_locked(true);
  EXPECT_FALSE(may_serve_lazily(locked, false, false));
  auto guarded = anon(0x100000, 0x300000);
  guarded.set_maybe_guard(true);
  EXPECT_FALSE(may_serve_lazily(guarded, false, false));
  auto stack = anon(0x100000, 0x300000);
  stack.set_path("[stack]");
  EXPECT_FALSE(may_serve_lazily(stack, false, false));
  auto file = anon(0x100000, 0x300000);
  file.set_kind(image::VMA_FILE_PRIVATE);
  EXPECT_FALSE(may_serve_lazily(file, false, false));
}

TEST(LazyPages, RunsOfLazyMappingsAreSplitOffWithTheirWholeMappings) {
  image::MemoryMap mm;
  *mm.add_vmas() = anon(0x100000, 0x101000);
  *mm.add_vmas() = anon(0x200000, 0x400000);
  std::vector<image::PageRun> runs(3);
  runs[0].set_vaddr(0x100000), runs[0].set_nr_pages(1), runs[0].set_offset(0);
  runs[1].set_vaddr(0x200000), runs[1].set_nr_pages(2), runs[1].set_offset(kPage);
  runs[2].set_vaddr(0x300000), runs[2].set_nr_pages(1), runs[2].set_offset(3 * kPage);
  std::vector<image::PageRun> lazy;
  std::vector<AddressRange> ranges;
  auto eager = split_lazy_runs(mm, {}, runs, &lazy, &ranges);
  ASSERT_EQ(eager.size(), 1u);
  EXPECT_EQ(eager[0].vaddr(), 0x100000u);
  ASSERT_EQ(lazy.size(), 2u);
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0].start, 0x200000u);
  EXPECT_EQ(ranges[0].end, 0x400000u);
}

}  // namespace
}  // namespace cryo::restore
