// The renderers behind render_summary (image_summaries.h), one per summary.
#pragma once

#include <string>
#include <vector>

#include "image/image_printer.h"
#include "image/summary_input.h"

namespace cryo::image {

// Each process's depth in the tree (the init 0), in pstree.img order.
std::vector<size_t> tree_depths(const SummaryInput& input);

std::string render_tree_summary(const SummaryInput& input, PrintFormat format);
std::string render_fd_summary(const SummaryInput& input, PrintFormat format);
std::string render_memory_summary(const SummaryInput& input, PrintFormat format);

}  // namespace cryo::image
