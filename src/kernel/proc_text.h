// Small helpers shared by the /proc parsers: splitting text into lines and fields, and parsing
// numbers strictly (a malformed /proc file is an error, not a zero).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace cryo::proc_text {

// Lines without their '\n'; a final line without '\n' is included, an empty last line is not.
std::vector<std::string_view> lines(std::string_view text);
// Fields separated by runs of spaces and tabs.
std::vector<std::string_view> fields(std::string_view text);
std::string_view trim(std::string_view text);

// Whole-string parses; `what` names the value in errors ("status Umask").
Result<uint64_t> parse_u64(std::string_view text, int base, const std::string& what);
Result<int64_t> parse_i64(std::string_view text, const std::string& what);

}  // namespace cryo::proc_text
