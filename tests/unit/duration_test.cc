#include "base/duration.h"

#include <gtest/gtest.h>

namespace cryo {
namespace {

constexpr int64_t S = kNanosPerSecond;

TEST(Duration, BareNumberIsSeconds) { EXPECT_EQ(parse_duration("3600").value(), 3600 * S); }

TEST(Duration, EachUnit) {
  EXPECT_EQ(parse_duration("90s").value(), 90 * S);
  EXPECT_EQ(parse_duration("15m").value(), 15 * 60 * S);
  EXPECT_EQ(parse_duration("36h").value(), 36 * 3600 * S);
  EXPECT_EQ(parse_duration("49d").value(), 49 * 86400 * S);
}

TEST(Duration, CombinedUnits) { EXPECT_EQ(parse_duration("1d2h30m").value(), (86400 + 7200 + 1800) * S); }

TEST(Duration, Signs) {
  EXPECT_EQ(parse_duration("-2h").value(), -7200 * S);
  EXPECT_EQ(parse_duration("+5s").value(), 5 * S);
}

TEST(Duration, RejectsBadInput) {
  for (const char* bad : {"", "-", "abc", "5x", "1h2d", "1h1h", "1h30", "h", "1.5h", " 5", "5 "}) {
    auto parsed = parse_duration(bad);
    EXPECT_FALSE(parsed.has_value()) << bad;
    if (!parsed) {
      EXPECT_NE(parsed.error().message.find("invalid duration"), std::string::npos) << bad;
      EXPECT_FALSE(parsed.error().hint.empty());
    }
  }
}

TEST(Duration, RejectsOverflow) {
  EXPECT_FALSE(parse_duration("99999999999999d").has_value());
  EXPECT_FALSE(parse_duration("9223372037s").has_value());
  EXPECT_TRUE(parse_duration("9223372036s").has_value());
}

TEST(Duration, FormatRoundTrips) {
  for (const char* text : {"49d", "1d2h30m", "-2h", "90s", "1m30s"}) {
    int64_t nanos = parse_duration(text).value();
    EXPECT_EQ(parse_duration(format_duration(nanos)).value(), nanos) << text;
  }
  EXPECT_EQ(format_duration(1500 * 1000 * 1000), "1.5s");
  EXPECT_EQ(format_duration(0), "0s");
}

}  // namespace
}  // namespace cryo
