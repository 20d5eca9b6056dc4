#include "dump/page_index.h"

#include <gtest/gtest.h>

namespace cryo::dump {
namespace {

constexpr uint64_t kPage = 4096;

image::PageRun run(uint64_t vaddr, uint64_t pages, uint64_t offset) {
  image::PageRun r;
  r.set_vaddr(vaddr);
  r.set_nr_pages(pages);
  r.set_offset(offset);
  return r;
}

// (vaddr, pages, offset) of every run, for readable comparisons.
std::vector<std::tuple<uint64_t, uint64_t, uint64_t>> triples(const PageIndex& index) {
  google::protobuf::RepeatedPtrField<image::PageRun> runs;
  index.write_runs(runs);
  std::vector<std::tuple<uint64_t, uint64_t, uint64_t>> out;
  for (const auto& r : runs) out.emplace_back(r.vaddr(), r.nr_pages(), r.offset());
  return out;
}

TEST(PageIndex, ALaterCopyOfAPageReplacesTheEarlierOne) {
  PageIndex index;
  index.store(run(0x10000, 4, 0));              // Round 1: four pages at 0..4.
  index.store(run(0x10000 + kPage, 1, 8 * kPage));  // Round 2: the second page again, appended.
  using T = std::tuple<uint64_t, uint64_t, uint64_t>;
  EXPECT_EQ(triples(index), (std::vector<T>{T{0x10000, 1, 0}, T{0x10000 + kPage, 1, 8 * kPage}, T{0x10000 + 2 * kPage, 2, 2 * kPage}}));
  EXPECT_EQ(index.pages(), 4u);
}

TEST(PageIndex, APageFoundZeroOrGoneIsForgotten) {
  PageIndex index;
  index.store(run(0x10000, 4, 0));
  index.erase(0x10000 + kPage, 0x10000 + 3 * kPage);  // Written since, and zero now: not stored.
  using T = std::tuple<uint64_t, uint64_t, uint64_t>;
  EXPECT_EQ(triples(index), (std::vector<T>{T{0x10000, 1, 0}, T{0x10000 + 3 * kPage, 1, 3 * kPage}}));
}

TEST(PageIndex, KeepOnlyDropsPagesOfMappingsThatAreGoneOrChanged) {
  PageIndex index;
  index.store(run(0x10000, 4, 0));
  index.store(run(0x40000, 2, 4 * kPage));
  index.store(run(0x90000, 1, 6 * kPage));
  index.keep_only({{0x10000 + kPage, 0x10000 + 2 * kPage}, {0x40000, 0x50000}});
  using T = std::tuple<uint64_t, uint64_t, uint64_t>;
  EXPECT_EQ(triples(index), (std::vector<T>{T{0x10000 + kPage, 1, kPage}, T{0x40000, 2, 4 * kPage}}));
}

TEST(PageIndex, NeighboursWhoseBytesFollowEachOtherBecomeOneRun) {
  PageIndex index;
  index.store(run(0x10000, 2, 0));
  index.store(run(0x10000 + 2 * kPage, 2, 2 * kPage));
  index.store(run(0x10000 + 4 * kPage, 1, 9 * kPage));
  using T = std::tuple<uint64_t, uint64_t, uint64_t>;
  EXPECT_EQ(triples(index), (std::vector<T>{T{0x10000, 4, 0}, T{0x10000 + 4 * kPage, 1, 9 * kPage}}));
}

}  // namespace
}  // namespace cryo::dump
