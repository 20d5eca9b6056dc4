#include "restore/address_plan.h"

#include <algorithm>
#include <map>

#include "base/hex.h"

namespace cryo::restore {

std::optional<uint64_t> find_free_range(std::vector<AddressRange> busy, uint64_t size, uint64_t lowest,
                                        uint64_t highest) {
  if (size == 0) return std::nullopt;
  std::sort(busy.begin(), busy.end(), [](const AddressRange& a, const AddressRange& b) { return a.start < b.start; });
  uint64_t candidate = (lowest + kPageSize - 1) & ~(kPageSize - 1);
  for (const auto& range : busy) {
    if (range.end <= candidate) continue;
    if (range.start >= candidate && range.start - candidate >= size) break;
    candidate = std::max(candidate, (range.end + kPageSize - 1) & ~(kPageSize - 1));
  }
  if (candidate > highest || highest - candidate < size) return std::nullopt;
  return candidate;
}

Result<SpecialMappingPlan> plan_special_moves(const std::vector<NamedRange>& current, const std::vector<NamedRange>& target,
                                              const std::vector<AddressRange>& busy, uint64_t lowest) {
  SpecialMappingPlan plan;
  std::map<std::string, const NamedRange*> have;
  for (const auto& c : current) have[c.name] = &c;
  std::map<std::string, bool> wanted;
  std::optional<int64_t> delta;
  std::vector<SpecialMove> moves;
  for (const auto& t : target) {
    auto it = have.find(t.name);
    if (it == have.end()) return fail("the image has a " + t.name + " mapping but this kernel gives processes none");
    const NamedRange& c = *it->second;
    if (c.size() != t.size())
      return fail(t.name + " is " + std::to_string(t.size()) + " bytes in the image but " + std::to_string(c.size()) + " here");
    int64_t d = static_cast<int64_t>(t.start - c.start);
    if (delta && *delta != d)
      return fail("the image's vdso mappings are laid out differently from this kernel's (" + t.name + " at " + hex(t.start) + ")");
    delta = d;
    wanted[t.name] = true;
    moves.push_back({t.name, c.start, c.size(), t.start});
  }
  for (const auto& c : current)
    if (!wanted.count(c.name)) plan.unmap.push_back(c);
  if (!delta || *delta == 0) return plan;

  bool self_overlap = false;
  for (const auto& m : moves)
    if (AddressRange{m.from, m.from + m.size}.overlaps({m.to, m.to + m.size})) self_overlap = true;

  if (!self_overlap) {
    // Moving up, the highest goes first: each destination then only covers places already vacated.
    std::sort(moves.begin(), moves.end(), [up = *delta > 0](const SpecialMove& a, const SpecialMove& b) {
      return up ? a.from > b.from : a.from < b.from;
    });
    plan.moves = std::move(moves);
    return plan;
  }

  // Through a temporary area free of everything: the sources, the destinations and `busy`.
  uint64_t low = UINT64_MAX, high = 0;
  for (const auto& m : moves) {
    low = std::min(low, m.from);
    high = std::max(high, m.from + m.size);
  }
  std::vector<AddressRange> occupied = busy;
  for (const auto& m : moves) {
    occupied.push_back({m.from, m.from + m.size});
    occupied.push_back({m.to, m.to + m.size});
  }
  auto temp = find_free_range(occupied, high - low, lowest);
  if (!temp) return fail("no free address range to move the vdso through");
  for (const auto& m : moves) plan.moves.push_back({m.name, m.from, m.size, *temp + (m.from - low)});
  for (const auto& m : moves) plan.moves.push_back({m.name, *temp + (m.from - low), m.size, m.to});
  return plan;
}

}  // namespace cryo::restore
