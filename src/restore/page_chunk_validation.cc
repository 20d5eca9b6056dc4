// The compression table of a pagemap (`dump --compress`): the chunks must hold the page data
// exactly, each once, in order, inside the compressed file, and each frame must declare the size
// its chunk claims. Restore decompresses a chunk into a buffer of the chunk's size and copies it
// into the process from there: a table that lied would put pages at the wrong addresses.
#include "base/page_size.h"
#include "image/page_compression.h"
#include "restore/image_validation.h"

namespace cryo::restore {

void validate_page_chunks(const ProcessImage& process, std::vector<std::string>* problems) {
  const auto& pagemap = process.pagemap;
  if (!pagemap.has_compression()) return;
  std::string where = "pid " + std::to_string(process.pid()) + ": compressed pages: ";
  auto problem = [&](const std::string& text) { problems->push_back(where + text); };
  const auto& table = pagemap.compression();
  if (table.codec() != image::PAGE_CODEC_ZSTD) {
    problem("unknown codec " + std::to_string(static_cast<int>(table.codec())));
    return;
  }
  if (table.stored_size() != process.pages_file_size) {
    problem("the table says " + process.pages_name + " holds " + std::to_string(table.stored_size()) + " bytes, the inventory " +
            std::to_string(process.pages_file_size));
    return;
  }
  if (table.chunks_size() > image::kMaxPageChunks) {
    problem("has " + std::to_string(table.chunks_size()) + " chunks, more than cryo accepts");
    return;
  }
  uint64_t data_end = 0, stored_end = 0;
  for (int i = 0; i < table.chunks_size(); ++i) {
    const auto& chunk = table.chunks(i);
    std::string name = "chunk " + std::to_string(i) + " (" + std::to_string(chunk.size()) + " bytes at " + std::to_string(chunk.offset()) +
                       ", stored as " + std::to_string(chunk.stored_size()) + " at " + std::to_string(chunk.stored_offset()) + ")";
    if (chunk.size() == 0 || chunk.size() % kPageSize || chunk.size() > image::kMaxPageChunkBytes) {
      problem(name + ": its size is not a whole number of pages up to " + std::to_string(image::kMaxPageChunkBytes >> 20) + " MiB");
      return;
    }
    if (chunk.stored_size() == 0 || chunk.stored_size() > 2 * image::kMaxPageChunkBytes) {
      problem(name + ": its stored size is empty or too large");
      return;
    }
    // Contiguous and in order, in the data and in the file: no overlap, no gap, no byte twice.
    if (chunk.offset() != data_end) {
      problem(name + (chunk.offset() < data_end ? " overlaps the chunk before" : " leaves a gap after the chunk before"));
      return;
    }
    if (chunk.stored_offset() != stored_end) {
      problem(name + (chunk.stored_offset() < stored_end ? " overlaps the chunk before in the file" : " leaves a gap in the file"));
      return;
    }
    if (chunk.stored_offset() > process.pages_file_size || chunk.stored_size() > process.pages_file_size - chunk.stored_offset()) {
      problem(name + " is past the end of " + process.pages_name);
      return;
    }
    data_end += chunk.size();
    stored_end += chunk.stored_size();
    uint64_t declared = static_cast<size_t>(i) < process.chunk_frame_sizes.size() ? process.chunk_frame_sizes[static_cast<size_t>(i)]
                                                                                  : image::kUnknownFrameSize;
    if (declared != chunk.size()) {
      problem(name + (declared == image::kUnknownFrameSize ? " does not start with a zstd frame header that gives its size"
                                                           : " decompresses to " + std::to_string(declared) + " bytes"));
      return;
    }
  }
  if (data_end != pagemap.pages_file_size())
    problem("the chunks hold " + std::to_string(data_end) + " bytes of pages, the pagemap " + std::to_string(pagemap.pages_file_size()));
  else if (stored_end != process.pages_file_size)
    problem("the chunks take " + std::to_string(stored_end) + " bytes of " + process.pages_name + ", which has " +
            std::to_string(process.pages_file_size));
}

}  // namespace cryo::restore
