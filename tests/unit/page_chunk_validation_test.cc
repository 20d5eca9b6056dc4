// The compression table of a pagemap (dump --compress): validation refuses every table that does
// not hold the page data exactly, and the zstd chunks round-trip and refuse another size.
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "image/page_compression.h"
#include "restore/image_validation.h"

namespace cryo::restore {
namespace {

constexpr uint64_t kChunk = 2 << 20;

// One 4 MiB anonymous mapping, all stored, as two chunks of 2 MiB whose frames declare 2 MiB.
ProcessImage compressed_process() {
  ProcessImage p;
  p.entry.set_pid(7);
  auto* vma = p.mm.add_vmas();
  vma->set_start(0x400000);
  vma->set_end(0x800000);
  vma->set_prot(PROT_READ | PROT_WRITE);
  vma->set_flags(MAP_PRIVATE | MAP_ANONYMOUS);
  vma->set_kind(image::VMA_ANON_PRIVATE);
  auto* run = p.pagemap.add_runs();
  run->set_vaddr(0x400000);
  run->set_nr_pages(1024);
  run->set_offset(0);
  p.pagemap.set_pages_file_size(2 * kChunk);
  auto* table = p.pagemap.mutable_compression();
  table->set_codec(image::PAGE_CODEC_ZSTD);
  table->set_stored_size(1900);
  auto* c = table->add_chunks();
  c->set_offset(0);
  c->set_size(kChunk);
  c->set_stored_offset(0);
  c->set_stored_size(1000);
  c = table->add_chunks();
  c->set_offset(kChunk);
  c->set_size(kChunk);
  c->set_stored_offset(1000);
  c->set_stored_size(900);
  p.pages_name = "zpages-7.img";
  p.pages_file_size = 1900;
  p.chunk_frame_sizes = {kChunk, kChunk};
  return p;
}

std::string problems_of(const ProcessImage& p) {
  std::vector<std::string> problems;
  validate_memory(p, &problems);
  std::string out;
  for (const auto& line : problems) out += line + "\n";
  return out;
}

TEST(PageChunkValidation, AValidTableHasNoProblem) { EXPECT_EQ(problems_of(compressed_process()), ""); }

TEST(PageChunkValidation, RefusesEveryTableThatDoesNotHoldThePagesExactly) {
  auto chunk = [](ProcessImage& p, int i) { return p.pagemap.mutable_compression()->mutable_chunks(i); };
  struct Case {
    std::function<void(ProcessImage&)> damage;
    std::string expect;
  } cases[] = {
      {[&](auto& p) { chunk(p, 1)->set_offset(kChunk - 4096); }, "overlaps the chunk before"},
      {[&](auto& p) { chunk(p, 1)->set_offset(kChunk + 4096); }, "leaves a gap"},
      {[&](auto& p) { chunk(p, 1)->set_stored_offset(999); }, "overlaps the chunk before in the file"},
      {[&](auto& p) { chunk(p, 1)->set_stored_size(901); }, "past the end of zpages-7.img"},
      {[&](auto& p) { chunk(p, 1)->set_stored_offset(UINT64_MAX - 10); }, "leaves a gap in the file"},
      {[&](auto& p) { chunk(p, 1)->set_stored_size(800); }, "the chunks take 1800 bytes"},
      {[&](auto& p) { chunk(p, 0)->set_size(kChunk + 1); }, "not a whole number of pages"},
      {[&](auto& p) { chunk(p, 0)->set_size(0); }, "not a whole number of pages"},
      {[&](auto& p) { chunk(p, 0)->set_size(128 << 20); }, "not a whole number of pages"},
      {[&](auto& p) { chunk(p, 0)->set_stored_size(0); }, "stored size is empty"},
      // Sizes moved from one chunk to the next keep the total: only the frames tell.
      {[&](auto& p) {
         chunk(p, 0)->set_size(kChunk - 4096);
         chunk(p, 1)->set_offset(kChunk - 4096);
         chunk(p, 1)->set_size(kChunk + 4096);
       },
       "decompresses to 2097152 bytes"},
      {[&](auto& p) { p.chunk_frame_sizes[1] = image::kUnknownFrameSize; }, "does not start with a zstd frame header"},
      {[&](auto& p) { p.chunk_frame_sizes.pop_back(); }, "does not start with a zstd frame header"},
      // More pages than the pagemap indexes, or fewer.
      {[&](auto& p) { p.pagemap.set_pages_file_size(kChunk); }, "the chunks hold 4194304 bytes of pages, the pagemap 2097152"},
      {[&](auto& p) { p.pagemap.mutable_compression()->mutable_chunks()->RemoveLast(); }, "the chunks hold 2097152 bytes"},
      {[&](auto& p) { p.pagemap.mutable_compression()->set_stored_size(2000); }, "the inventory 1900"},
      {[&](auto& p) { p.pagemap.mutable_compression()->set_codec(static_cast<image::PageCodec>(9)); }, "unknown codec 9"},
  };
  for (const auto& c : cases) {
    ProcessImage p = compressed_process();
    c.damage(p);
    std::string problems = problems_of(p);
    EXPECT_NE(problems.find(c.expect), std::string::npos) << "expected '" << c.expect << "', got:\n" << problems;
    EXPECT_NE(problems.find("pid 7: compressed pages: "), std::string::npos) << problems;
  }
}

TEST(PageChunkValidation, RunsAreCheckedAgainstThePageDataNotTheCompressedFile) {
  ProcessImage p = compressed_process();
  EXPECT_EQ(problems_of(p), "");  // 4 MiB of runs in a 1900-byte file: the chunks hold them.
  p.pagemap.mutable_runs(0)->set_offset(4096);
  EXPECT_NE(problems_of(p).find("beyond the end of the pages file"), std::string::npos);
}

std::vector<char> pattern(size_t size) {
  std::vector<char> data(size);
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>("compressible text "[i % 18] + (i / 4096) % 3);
  return data;
}

TEST(PageChunks, RoundTripAndRefuseAnotherSizeOrDamage) {
  auto compressor = image::ChunkCompressor::make(image::kPageCompressionLevel);
  ASSERT_TRUE(compressor.has_value());
  std::vector<char> data = pattern(kChunk);
  auto frame = compressor->compress(data);
  ASSERT_TRUE(frame.has_value());
  EXPECT_LT(frame->size(), data.size() / 10);
  std::vector<char> stored(frame->begin(), frame->end());

  image::ChunkDecompressor decompressor;
  std::vector<char> out(kChunk);
  ASSERT_TRUE(decompressor.decompress(stored, out).has_value());
  EXPECT_EQ(out, data);

  std::vector<char> smaller(kChunk - 4096);
  auto refused = decompressor.decompress(stored, smaller);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("not 2093056"), std::string::npos) << refused.error().message;

  // A flipped bit in the middle of the frame fails its checksum or its decoding, never gives bytes.
  std::vector<char> damaged = stored;
  damaged[damaged.size() / 2] ^= 0x10;
  EXPECT_FALSE(decompressor.decompress(damaged, out).has_value());
  // A frame cut short, and one with bytes after it.
  EXPECT_FALSE(decompressor.decompress(std::span<const char>(stored.data(), stored.size() - 1), out).has_value());
  std::vector<char> longer = stored;
  longer.push_back(0);
  EXPECT_FALSE(decompressor.decompress(longer, out).has_value());
}

TEST(PageChunks, DeclaredSizesComeFromTheFrameHeaders) {
  auto compressor = image::ChunkCompressor::make(image::kPageCompressionLevel);
  ASSERT_TRUE(compressor.has_value());
  std::string file;
  image::PageCompression table;
  for (size_t size : {kChunk, size_t{8192}}) {
    auto frame = compressor->compress(pattern(size));
    ASSERT_TRUE(frame.has_value());
    auto* c = table.add_chunks();
    c->set_stored_offset(file.size());
    c->set_stored_size(frame->size());
    file.append(frame->data(), frame->size());
  }
  auto* outside = table.add_chunks();
  outside->set_stored_offset(file.size());
  outside->set_stored_size(10);
  char path[] = "/tmp/cryo-chunks-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  ASSERT_EQ(::write(fd, file.data(), file.size()), static_cast<ssize_t>(file.size()));
  std::vector<uint64_t> sizes = image::declared_chunk_sizes(fd, file.size(), table);
  ::close(fd);
  EXPECT_EQ(sizes, (std::vector<uint64_t>{kChunk, 8192, image::kUnknownFrameSize}));
}

}  // namespace
}  // namespace cryo::restore
