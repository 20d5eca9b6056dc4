#include "dump/open_file_groups.h"

#include <algorithm>
#include <optional>
#include <string>

namespace cryo::dump {
namespace {

// Joins each item to the first earlier group it equals: the fallback when there is no order.
Result<std::vector<std::vector<size_t>>> group_by_scan(size_t count, const ObjectCompare& compare) {
  std::vector<std::vector<size_t>> groups;  // Every item's group, singletons too.
  for (size_t item = 0; item < count; ++item) {
    bool joined = false;
    for (auto& group : groups) {
      ASSIGN_OR_RETURN(ObjectOrder order, compare(group.front(), item));
      if (order != ObjectOrder::kEqual) continue;
      group.push_back(item);
      joined = true;
      break;
    }
    if (!joined) groups.push_back({item});
  }
  return groups;
}

// Sorts the items by the order, then cuts runs of equal ones. Empty when an answer gave no order.
Result<std::optional<std::vector<std::vector<size_t>>>> group_by_sort(size_t count, const ObjectCompare& compare) {
  std::vector<size_t> sorted(count);
  for (size_t i = 0; i < count; ++i) sorted[i] = i;
  std::optional<Error> failed;
  bool unordered = false;
  // Once an answer failed or gave no order, the rest of the sort is cut short (every item then
  // compares as not less): the result is thrown away.
  std::stable_sort(sorted.begin(), sorted.end(), [&](size_t a, size_t b) {
    if (failed || unordered) return false;
    auto order = compare(a, b);
    if (!order) {
      failed = order.error();
      return false;
    }
    if (*order == ObjectOrder::kUnordered) unordered = true;
    return *order == ObjectOrder::kLess;
  });
  if (failed) return fail(*failed);
  if (unordered) return std::optional<std::vector<std::vector<size_t>>>{};
  std::vector<std::vector<size_t>> groups;
  for (size_t i = 0; i < count; ++i) {
    bool same = false;
    if (i > 0) {
      ASSIGN_OR_RETURN(ObjectOrder order, compare(sorted[i - 1], sorted[i]));
      if (order == ObjectOrder::kUnordered) return std::optional<std::vector<std::vector<size_t>>>{};
      same = order == ObjectOrder::kEqual;
    }
    if (same) groups.back().push_back(sorted[i]);
    else groups.push_back({sorted[i]});
  }
  return groups;
}

}  // namespace

Result<ObjectOrder> object_order_from_kcmp(long answer) {
  switch (answer) {
    case 0: return ObjectOrder::kEqual;
    case 1: return ObjectOrder::kLess;
    case 2: return ObjectOrder::kGreater;
    case 3: return ObjectOrder::kUnordered;
    default: return fail("kcmp answered " + std::to_string(answer) + ", not 0, 1, 2 or 3");
  }
}

Result<std::vector<std::vector<size_t>>> group_equal_objects(size_t count, const ObjectCompare& compare) {
  std::vector<std::vector<size_t>> groups;
  ASSIGN_OR_RETURN(auto sorted, group_by_sort(count, compare));
  if (sorted) {
    groups = std::move(*sorted);
  } else {
    ASSIGN_OR_RETURN(groups, group_by_scan(count, compare));
  }
  std::erase_if(groups, [](const std::vector<size_t>& group) { return group.size() < 2; });
  for (auto& group : groups) std::sort(group.begin(), group.end());
  std::sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) { return a[1] < b[1]; });
  return groups;
}

}  // namespace cryo::dump
