#include "dump/kept_pages.h"

#include "base/page_size.h"

namespace cryo::dump {

bool is_zero_page(const void* page) {
  const auto* words = static_cast<const uint64_t*>(page);
  for (size_t i = 0; i < kPageSize / sizeof(uint64_t); i += 8) {
    uint64_t any = words[i] | words[i + 1] | words[i + 2] | words[i + 3] | words[i + 4] | words[i + 5] | words[i + 6] |
                   words[i + 7];
    if (any) return false;
  }
  return true;
}

void find_kept_pages(std::span<const BatchSegment> batch, const char* buffer, std::vector<KeptSpan>& out) {
  out.clear();
  size_t at = 0;
  for (const auto& seg : batch) {
    for (uint64_t page = seg.start; page < seg.end; page += kPageSize, at += kPageSize) {
      if (seg.skip_zero_pages && is_zero_page(buffer + at)) continue;
      if (!out.empty() && out.back().vaddr + out.back().bytes == page && out.back().at + out.back().bytes == at) {
        out.back().bytes += kPageSize;
      } else {
        out.push_back({page, at, kPageSize});
      }
    }
  }
}

}  // namespace cryo::dump
