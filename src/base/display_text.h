// Untrusted strings (a record file's command, an image's paths and comms) made safe to print: as
// terminal text, where a control byte could move the cursor or retitle the window, and as JSON
// strings, which must be valid UTF-8.
#pragma once

#include <string>
#include <string_view>

namespace cryo {

// Printable ASCII passes as it is; every other byte, and the backslash, becomes \xHH.
std::string terminal_safe(std::string_view text);

// A quoted JSON string. Valid UTF-8 passes (control characters escaped); a byte that is not part of
// a valid UTF-8 sequence becomes the code point of the same value (\u00HH), so the output is always
// valid JSON.
std::string json_string(std::string_view text);

}  // namespace cryo
