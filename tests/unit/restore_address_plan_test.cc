#include "restore/address_plan.h"

#include <gtest/gtest.h>

namespace cryo::restore {
namespace {

constexpr uint64_t P = kPageSize;

// The layout measured on this kernel: [vvar] 4 pages, [vvar_vclock] 2, [vdso] 2, contiguous.
std::vector<NamedRange> layout_at(uint64_t base) {
  return {{"[vvar]", base, base + 4 * P}, {"[vvar_vclock]", base + 4 * P, base + 6 * P}, {"[vdso]", base + 6 * P, base + 8 * P}};
}

// Applies the moves to a model of the address space, failing on anything the kernel would refuse
// or anything that would clobber a mapping that has not moved yet.
std::vector<NamedRange> apply_moves(std::vector<NamedRange> current, const SpecialMappingPlan& plan) {
  for (const auto& move : plan.moves) {
    AddressRange to{move.to, move.to + move.size}, from{move.from, move.from + move.size};
    EXPECT_FALSE(to.overlaps(from)) << "mremap onto its own source is EINVAL: " << move.name;
    for (const auto& other : current) {
      if (other.name == move.name) continue;
      EXPECT_FALSE(to.overlaps(AddressRange{other.start, other.end})) << move.name << " lands on " << other.name;
    }
    for (auto& r : current) {
      if (r.name != move.name) continue;
      EXPECT_EQ(r.start, move.from);
      r.start = move.to;
      r.end = move.to + move.size;
    }
  }
  return current;
}

void expect_same(const std::vector<NamedRange>& a, const std::vector<NamedRange>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].start, b[i].start) << a[i].name;
    EXPECT_EQ(a[i].end, b[i].end) << a[i].name;
  }
}

TEST(RestoreAddressPlan, FindsTheLowestGapThatFits) {
  std::vector<AddressRange> busy = {{0x10000, 0x12000}, {0x13000, 0x20000}, {0x22000, 0x30000}};
  EXPECT_EQ(find_free_range(busy, P, 0x10000), 0x12000u);
  EXPECT_EQ(find_free_range(busy, 2 * P, 0x10000), 0x20000u);
  EXPECT_EQ(find_free_range(busy, 3 * P, 0x10000), 0x30000u);
  EXPECT_EQ(find_free_range(busy, P, 0x10001), 0x12000u);  // Rounded up to a page.
  EXPECT_EQ(find_free_range(busy, P, 0x10000, 0x12000), std::nullopt);
  // Unsorted and overlapping input is fine.
  std::vector<AddressRange> messy = {{0x30000, 0x40000}, {0x10000, 0x31000}};
  EXPECT_EQ(find_free_range(messy, P, 0x10000), 0x40000u);
}

TEST(RestoreAddressPlan, MovesFarUpHighestFirstAllByOneDelta) {
  auto current = layout_at(0x7fff0000000), target = layout_at(0x7ffff000000);
  auto plan = plan_special_moves(current, target, {}, 0x10000);
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  ASSERT_EQ(plan->moves.size(), 3u);
  EXPECT_EQ(plan->moves[0].name, "[vdso]");
  expect_same(apply_moves(current, *plan), target);
}

TEST(RestoreAddressPlan, MovesDownLowestFirst) {
  auto current = layout_at(0x7ffff000000), target = layout_at(0x7fff0000000);
  auto plan = plan_special_moves(current, target, {}, 0x10000);
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ(plan->moves[0].name, "[vvar]");
  expect_same(apply_moves(current, *plan), target);
}

TEST(RestoreAddressPlan, ShortMovesGoThroughAFreeTemporaryArea) {
  for (int64_t delta : {1, 2, 3, 5, -1, -3, -6}) {
    uint64_t base = 0x7fff0000000;
    auto current = layout_at(base), target = layout_at(base + delta * static_cast<int64_t>(P));
    std::vector<AddressRange> busy = {{0x10000, 0x7ff00000000}};  // Most of the space is taken.
    auto plan = plan_special_moves(current, target, busy, 0x10000);
    ASSERT_TRUE(plan.has_value()) << plan.error().message;
    for (const auto& move : plan->moves) {
      if (move.to == target[0].start || move.to == target[1].start || move.to == target[2].start) continue;
      AddressRange temp{move.to, move.to + move.size};
      EXPECT_FALSE(temp.overlaps(busy[0])) << "temporary area on busy memory";
    }
    expect_same(apply_moves(current, *plan), target);
  }
}

TEST(RestoreAddressPlan, NoMoveWhenAlreadyInPlace) {
  auto plan = plan_special_moves(layout_at(0x7fff0000000), layout_at(0x7fff0000000), {}, 0x10000);
  ASSERT_TRUE(plan.has_value());
  EXPECT_TRUE(plan->moves.empty());
  EXPECT_TRUE(plan->unmap.empty());
}

TEST(RestoreAddressPlan, UnmapsWhatTheImageDoesNotHave) {
  auto target = layout_at(0x7ffff000000);
  target.erase(target.begin() + 1);  // An image from a kernel without [vvar_vclock].
  auto current = layout_at(0x7fff0000000);
  auto plan = plan_special_moves(current, target, {}, 0x10000);
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  ASSERT_EQ(plan->unmap.size(), 1u);
  EXPECT_EQ(plan->unmap[0].name, "[vvar_vclock]");
}

TEST(RestoreAddressPlan, RefusesDifferentSizesAndDistances) {
  auto current = layout_at(0x7fff0000000);
  auto bigger = layout_at(0x7ffff000000);
  bigger[2].end += P;
  EXPECT_FALSE(plan_special_moves(current, bigger, {}, 0x10000).has_value());
  auto apart = layout_at(0x7ffff000000);
  apart[2].start += P;
  apart[2].end += P;
  auto plan = plan_special_moves(current, apart, {}, 0x10000);
  ASSERT_FALSE(plan.has_value());
  EXPECT_NE(plan.error().message.find("laid out differently"), std::string::npos);
  std::vector<NamedRange> missing = {{"[vdso]", 0x1000, 0x3000}};
  EXPECT_FALSE(plan_special_moves({}, missing, {}, 0x10000).has_value());
}

}  // namespace
}  // namespace cryo::restore
