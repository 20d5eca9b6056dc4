// Aligned plain-text tables (cryo ps, cryo show --ps/--fds/--mems): the first row is the header,
// every column as wide as its widest cell, two spaces between columns, the last column unpadded.
#pragma once

#include <string>
#include <vector>

namespace cryo {

std::string format_table(const std::vector<std::vector<std::string>>& rows, const std::string& indent = "");

}  // namespace cryo
