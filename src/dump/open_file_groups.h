// Groups items that are one kernel object, given only a comparison of two of them, in
// O(n log n) comparisons: kcmp(2) orders the kernel's objects (0 equal, 1 less, 2 greater, by
// their obfuscated addresses), so it can sort them, and equal objects end up side by side. A
// comparison that gives no order (kcmp's 3) falls back to comparing each item with one member of
// every group found so far, which gives the same groups in O(n * groups) comparisons.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "base/error.h"

namespace cryo::dump {

enum class ObjectOrder { kEqual, kLess, kGreater, kUnordered };

// kcmp's answer as an ObjectOrder: 0, 1, 2 as such, 3 unordered; anything else is not an answer.
Result<ObjectOrder> object_order_from_kcmp(long answer);

// Compares item a with item b (indices into the caller's list).
using ObjectCompare = std::function<Result<ObjectOrder>(size_t a, size_t b)>;

// The groups of `count` items that are one object, each group of two or more items, in ascending
// order of items within a group; groups in the order in which their second item comes in the list
// (the order a scan of the list that joins each item to the first earlier equal one finds them).
// Items that are alone are in no group.
Result<std::vector<std::vector<size_t>>> group_equal_objects(size_t count, const ObjectCompare& compare);

}  // namespace cryo::dump
