// The page writer's pieces: which pages of a batch are stored (the iovecs written straight from the
// batch buffer), and the ring of buffers that hands batches to the writer thread.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <vector>

#include "base/page_size.h"
#include "dump/kept_pages.h"
#include "dump/write_behind.h"

namespace cryo::dump {
namespace {

// A buffer of `pages` pages, page i holding byte i + 1 unless listed in `zero`.
std::vector<char> pages_with_zeros(size_t pages, const std::vector<size_t>& zero) {
  std::vector<char> buffer(pages * kPageSize);
  for (size_t i = 0; i < pages; ++i) std::memset(buffer.data() + i * kPageSize, static_cast<int>(i + 1), kPageSize);
  for (size_t i : zero) std::memset(buffer.data() + i * kPageSize, 0, kPageSize);
  return buffer;
}

TEST(KeptPages, ZeroPagesOfAnonymousMemorySplitTheSpans) {
  auto buffer = pages_with_zeros(6, {2, 3});
  std::vector<BatchSegment> batch{{0x10000, 0x16000, true}};
  std::vector<KeptSpan> kept;
  find_kept_pages(batch, buffer.data(), kept);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].vaddr, 0x10000u);
  EXPECT_EQ(kept[0].at, 0u);
  EXPECT_EQ(kept[0].bytes, 2 * kPageSize);
  EXPECT_EQ(kept[1].vaddr, 0x14000u);
  EXPECT_EQ(kept[1].at, 4 * kPageSize);
  EXPECT_EQ(kept[1].bytes, 2 * kPageSize);
}

TEST(KeptPages, ZeroPagesOfFileMappingsAreKept) {
  auto buffer = pages_with_zeros(3, {0, 1, 2});
  std::vector<BatchSegment> batch{{0x10000, 0x13000, false}};
  std::vector<KeptSpan> kept;
  find_kept_pages(batch, buffer.data(), kept);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].bytes, 3 * kPageSize);
}

TEST(KeptPages, TouchingSegmentsAreOneSpanAndGapsInTheProcessAreNot) {
  auto buffer = pages_with_zeros(4, {});
  // Two mappings that touch, then one further on: the buffer holds them back to back.
  std::vector<BatchSegment> batch{{0x10000, 0x11000, true}, {0x11000, 0x12000, false}, {0x20000, 0x22000, true}};
  std::vector<KeptSpan> kept{{1, 2, 3}};  // Cleared first.
  find_kept_pages(batch, buffer.data(), kept);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].vaddr, 0x10000u);
  EXPECT_EQ(kept[0].bytes, 2 * kPageSize);
  EXPECT_EQ(kept[1].vaddr, 0x20000u);
  EXPECT_EQ(kept[1].at, 2 * kPageSize);
  EXPECT_EQ(kept[1].bytes, 2 * kPageSize);
}

TEST(KeptPages, AllZeroBatchKeepsNothing) {
  auto buffer = pages_with_zeros(2, {0, 1});
  std::vector<BatchSegment> batch{{0x10000, 0x12000, true}};
  std::vector<KeptSpan> kept;
  find_kept_pages(batch, buffer.data(), kept);
  EXPECT_TRUE(kept.empty());
  EXPECT_TRUE(is_zero_page(buffer.data()));
  buffer[kPageSize - 1] = 1;
  EXPECT_FALSE(is_zero_page(buffer.data()));
}

TEST(WriteBehind, WritesEveryBatchInTheOrderSubmitted) {
  std::vector<int> written;
  auto ring = WriteBehind::start(3, kPageSize, [&](const WriteBehind::Batch& batch) -> Result<> {
    written.push_back(batch.data[0]);
    EXPECT_EQ(batch.pieces.size(), 1u);
    return {};
  });
  ASSERT_TRUE(ring) << ring.error().message;
  for (int i = 0; i < 100; ++i) {
    auto batch = (*ring)->next();
    ASSERT_TRUE(batch);
    EXPECT_TRUE((*batch)->pieces.empty());  // A recycled buffer comes back without pieces.
    (*batch)->data[0] = static_cast<char>(i);
    (*batch)->pieces.push_back({(*batch)->data, 1});
    ASSERT_TRUE((*ring)->submit(*batch));
  }
  ASSERT_TRUE((*ring)->finish());
  ASSERT_EQ(written.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(written[static_cast<size_t>(i)], i);
}

TEST(WriteBehind, TheFirstErrorStopsTheWriterAndIsReported) {
  std::atomic<int> calls = 0;
  auto ring = WriteBehind::start(2, kPageSize, [&](const WriteBehind::Batch&) -> Result<> {
    if (++calls == 3) return fail("disk full");
    return {};
  });
  ASSERT_TRUE(ring);
  bool refused = false;
  for (int i = 0; i < 50 && !refused; ++i) {
    auto batch = (*ring)->next();
    if (!batch) {
      EXPECT_EQ(batch.error().message, "disk full");
      refused = true;
      break;
    }
    if (!(*ring)->submit(*batch)) refused = true;
  }
  EXPECT_TRUE(refused);
  auto finished = (*ring)->finish();
  ASSERT_FALSE(finished);
  EXPECT_EQ(finished.error().message, "disk full");
  EXPECT_EQ(calls.load(), 3);  // Nothing is written after the error.
}

TEST(WriteBehind, DestroyedWithBatchesQueuedStopsCleanly) {
  std::atomic<int> calls = 0;
  auto ring = WriteBehind::start(3, kPageSize, [&](const WriteBehind::Batch&) -> Result<> {
    ++calls;
    return {};
  });
  ASSERT_TRUE(ring);
  for (int i = 0; i < 3; ++i) {
    auto batch = (*ring)->next();
    ASSERT_TRUE(batch);
    ASSERT_TRUE((*ring)->submit(*batch));
  }
  ring->reset();
  EXPECT_LE(calls.load(), 3);
}

}  // namespace
}  // namespace cryo::dump
