// Durations as users write them: "3600", "90s", "15m", "36h", "49d", "1d2h30m", optionally signed ("-2h").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace cryo {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

// Parses a duration into nanoseconds. A bare number is seconds. Units d, h, m, s may each appear once,
// in that order. Refuses empty input, unknown units and values that overflow 64-bit nanoseconds.
Result<int64_t> parse_duration(std::string_view text);

// Formats nanoseconds the way parse_duration reads them back, e.g. "49d", "-1h30m", "1.5s".
std::string format_duration(int64_t nanos);

}  // namespace cryo
