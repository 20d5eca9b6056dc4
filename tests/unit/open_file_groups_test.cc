// The grouping behind mark_shared_open_files: a fake comparator stands in for kcmp(KCMP_FILE).
#include "dump/open_file_groups.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace cryo::dump {
namespace {

using Groups = std::vector<std::vector<size_t>>;

// Items are objects named by a number; the fake orders them by a scrambled form of the number
// (as kcmp orders obfuscated pointers), and counts its calls.
struct FakeKcmp {
  std::vector<uint64_t> objects;
  bool ordered = true;  // false: answers 3 (no order) for every pair of different objects.
  size_t calls = 0;

  static uint64_t scramble(uint64_t v) { return (v ^ 0x5bd1e995u) * 0x9e3779b97f4a7c15ULL; }

  ObjectCompare compare() {
    return [this](size_t a, size_t b) -> Result<ObjectOrder> {
      ++calls;
      uint64_t x = scramble(objects.at(a)), y = scramble(objects.at(b));
      if (x == y) return ObjectOrder::kEqual;
      if (!ordered) return ObjectOrder::kUnordered;
      return x < y ? ObjectOrder::kLess : ObjectOrder::kGreater;
    };
  }
};

// What the pairwise scan that cryo used before finds: the reference for the groups and their order.
Groups reference_groups(const std::vector<uint64_t>& objects) {
  Groups all;
  for (size_t i = 0; i < objects.size(); ++i) {
    bool joined = false;
    for (auto& group : all)
      if (objects[group.front()] == objects[i]) {
        group.push_back(i);
        joined = true;
        break;
      }
    if (!joined) all.push_back({i});
  }
  Groups shared;
  for (auto& group : all)
    if (group.size() > 1) shared.push_back(group);
  std::sort(shared.begin(), shared.end(), [](const auto& a, const auto& b) { return a[1] < b[1]; });
  return shared;
}

TEST(OpenFileGroups, KcmpAnswersMapToOrders) {
  EXPECT_EQ(*object_order_from_kcmp(0), ObjectOrder::kEqual);
  EXPECT_EQ(*object_order_from_kcmp(1), ObjectOrder::kLess);
  EXPECT_EQ(*object_order_from_kcmp(2), ObjectOrder::kGreater);
  EXPECT_EQ(*object_order_from_kcmp(3), ObjectOrder::kUnordered);
  EXPECT_FALSE(object_order_from_kcmp(4).has_value());
  EXPECT_FALSE(object_order_from_kcmp(-1).has_value());
}

TEST(OpenFileGroups, EmptyAndSingleItemHaveNoGroups) {
  FakeKcmp fake;
  EXPECT_TRUE(group_equal_objects(0, fake.compare())->empty());
  fake.objects = {7};
  EXPECT_TRUE(group_equal_objects(1, fake.compare())->empty());
}

TEST(OpenFileGroups, GroupsInTheOrderOfTheirSecondItem) {
  // 0 and 3 are one object, 1 and 2 another, 4 is alone, 5 joins the first: the pairwise scan
  // numbers the {1, 2} group first, because its second member comes first.
  FakeKcmp fake{{10, 20, 20, 10, 30, 10}};
  auto groups = group_equal_objects(fake.objects.size(), fake.compare());
  ASSERT_TRUE(groups.has_value()) << groups.error().message;
  EXPECT_EQ(*groups, (Groups{{1, 2}, {0, 3, 5}}));
}

TEST(OpenFileGroups, AllDistinctAndAllOne) {
  FakeKcmp distinct{{1, 2, 3, 4, 5, 6, 7, 8}};
  EXPECT_TRUE(group_equal_objects(8, distinct.compare())->empty());
  FakeKcmp one{{9, 9, 9, 9}};
  EXPECT_EQ(*group_equal_objects(4, one.compare()), (Groups{{0, 1, 2, 3}}));
}

TEST(OpenFileGroups, SameGroupsAsThePairwiseScanOnRandomLists) {
  std::mt19937_64 random(12);
  for (int round = 0; round < 200; ++round) {
    size_t n = random() % 60;
    uint64_t kinds = 1 + random() % 20;
    FakeKcmp fake;
    for (size_t i = 0; i < n; ++i) fake.objects.push_back(random() % kinds);
    auto groups = group_equal_objects(n, fake.compare());
    ASSERT_TRUE(groups.has_value()) << groups.error().message;
    EXPECT_EQ(*groups, reference_groups(fake.objects)) << "round " << round;
  }
}

TEST(OpenFileGroups, ThousandsOfItemsCostNLogNComparisons) {
  // 3,000 eventfds, every third a dup of the one before: the pairwise scan made about 3 million
  // calls here.
  const size_t n = 3000;
  FakeKcmp fake;
  for (size_t i = 0; i < n; ++i) fake.objects.push_back(i % 3 == 2 ? i - 1 : i);
  auto groups = group_equal_objects(n, fake.compare());
  ASSERT_TRUE(groups.has_value());
  EXPECT_EQ(groups->size(), n / 3);
  EXPECT_EQ(*groups, reference_groups(fake.objects));
  EXPECT_LT(fake.calls, static_cast<size_t>(3 * n * std::log2(n))) << "comparisons: " << fake.calls;
}

TEST(OpenFileGroups, NoOrderFallsBackToTheScanWithTheSameGroups) {
  FakeKcmp fake{{10, 20, 20, 10, 30, 10}, false};
  auto groups = group_equal_objects(fake.objects.size(), fake.compare());
  ASSERT_TRUE(groups.has_value()) << groups.error().message;
  EXPECT_EQ(*groups, (Groups{{1, 2}, {0, 3, 5}}));
}

TEST(OpenFileGroups, AFailedComparisonIsTheError) {
  size_t calls = 0;
  auto groups = group_equal_objects(50, [&](size_t, size_t) -> Result<ObjectOrder> {
    if (++calls == 7) return fail(make_error("kcmp(1, 2, KCMP_FILE, 3, 4): Bad file descriptor"));
    return ObjectOrder::kLess;
  });
  ASSERT_FALSE(groups.has_value());
  EXPECT_NE(groups.error().message.find("Bad file descriptor"), std::string::npos);
}

}  // namespace
}  // namespace cryo::dump
