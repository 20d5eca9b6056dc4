#include "base/duration.h"

#include <cctype>
#include <limits>

namespace cryo {
namespace {

int64_t unit_seconds(char unit) {
  switch (unit) {
    case 'd': return 86400;
    case 'h': return 3600;
    case 'm': return 60;
    case 's': return 1;
    default: return 0;
  }
}

Error bad_duration(std::string_view text, const std::string& why) {
  return make_error("invalid duration '" + std::string(text) + "': " + why)
      .with_hint("write a duration like 3600, 90s, 15m, 36h, 49d or 1d2h30m, optionally with a sign");
}

}  // namespace

Result<int64_t> parse_duration(std::string_view text) {
  std::string_view rest = text;
  bool negative = false;
  if (!rest.empty() && (rest[0] == '-' || rest[0] == '+')) {
    negative = rest[0] == '-';
    rest.remove_prefix(1);
  }
  if (rest.empty()) return fail(bad_duration(text, "empty"));

  constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / kNanosPerSecond;
  int64_t total_seconds = 0;
  int last_rank = 5;  // Units must come in the order d, h, m, s, each at most once.
  while (!rest.empty()) {
    if (!std::isdigit(static_cast<unsigned char>(rest[0]))) return fail(bad_duration(text, "expected a number"));
    int64_t value = 0;
    while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest[0]))) {
      value = value * 10 + (rest[0] - '0');
      if (value > kMaxSeconds) return fail(bad_duration(text, "too large"));
      rest.remove_prefix(1);
    }
    char unit = 's';
    bool bare = rest.empty();
    if (!bare) {
      unit = rest[0];
      rest.remove_prefix(1);
    }
    int64_t seconds = unit_seconds(unit);
    if (seconds == 0) return fail(bad_duration(text, std::string("unknown unit '") + unit + "'"));
    if (bare && last_rank != 5) return fail(bad_duration(text, "a number after a unit needs its own unit"));
    int rank = unit == 'd' ? 4 : unit == 'h' ? 3 : unit == 'm' ? 2 : 1;
    if (rank >= last_rank) return fail(bad_duration(text, "units must come once each, in the order d, h, m, s"));
    last_rank = rank;
    if (value > (kMaxSeconds - total_seconds) / seconds) return fail(bad_duration(text, "too large"));
    total_seconds += value * seconds;
  }
  int64_t nanos = total_seconds * kNanosPerSecond;
  return negative ? -nanos : nanos;
}

std::string format_duration(int64_t nanos) {
  if (nanos == 0) return "0s";
  std::string out = nanos < 0 ? "-" : "";
  uint64_t abs = nanos < 0 ? static_cast<uint64_t>(-(nanos + 1)) + 1 : static_cast<uint64_t>(nanos);
  uint64_t seconds = abs / kNanosPerSecond;
  uint64_t rest_ns = abs % kNanosPerSecond;
  const struct { char unit; uint64_t size; } units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}};
  for (const auto& u : units) {
    if (seconds >= u.size) {
      out += std::to_string(seconds / u.size) + u.unit;
      seconds %= u.size;
    }
  }
  if (seconds != 0 || rest_ns != 0) {
    out += std::to_string(seconds);
    if (rest_ns != 0) {
      std::string frac = std::to_string(rest_ns);
      frac.insert(0, 9 - frac.size(), '0');
      while (frac.back() == '0') frac.pop_back();
      out += "." + frac;
    }
    out += 's';
  }
  return out;
}

}  // namespace cryo
