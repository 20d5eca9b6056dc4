// dump --compress: the page data goes into zstd chunks (zpages-<pid>.img) and comes back exact,
// compressible and incompressible memory alike; a damaged chunk or a chunk table that lies is
// refused, before any process is created wherever the image says enough to tell.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "e2e/checkpoint_harness.h"
#include "e2e/image_tamper.h"
#include "image/framed_file.h"
#include "pagemap.pb.h"

namespace cryo::e2e {
namespace {

namespace fs = std::filesystem;

uint64_t file_size(const std::string& path) { return fs::exists(path) ? fs::file_size(path) : 0; }

image::Pagemap read_pagemap(const std::string& image, uint32_t pid) {
  image::Pagemap pagemap;
  EXPECT_TRUE(image::read_image(image, image::Kind::Pagemap, pid, &pagemap).has_value());
  return pagemap;
}

void flip_bit(const std::string& path, off_t offset) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path;
  unsigned char byte = 0;
  ASSERT_EQ(::pread(fd, &byte, 1, offset), 1) << path;
  byte ^= 0x20;
  ASSERT_EQ(::pwrite(fd, &byte, 1, offset), 1) << path;
  ::close(fd);
}

// Refused with one line mentioning `must_mention`, and the tree's init never created.
void expect_refused_before_any_process(CheckpointSession& session, const std::string& image, const std::string& must_mention) {
  auto result = session.restore(image);
  expect_one_clear_error(result, must_mention);
  EXPECT_TRUE(session.leftover_processes().empty()) << "restore created processes";
  std::string log = slurp(image + "/restore.log");
  EXPECT_EQ(log.find("init is host pid"), std::string::npos) << "restore created the tree's init:\n" << log;
}

// cr_memory with 4 MiB of random data (incompressible) and 8 MiB of text (compressible): 6 chunks
// of 2 MiB in pid 1's zpages-1.img at least.
pid_t dump_compressed(CheckpointSession& session, const std::string& image) {
  pid_t init = session.start("cr_memory", {"--mib=4", "--text-mib=8"});
  if (init <= 0) return 0;
  if (!session.dump_ok(init, image, {"--compress"})) return 0;
  return init;
}

TEST(CompressedPages, CompressibleAndIncompressibleMemorySurvive) {
  CheckpointSession session;
  pid_t init = session.start("cr_memory", {"--mib=16", "--text-mib=32"});
  ASSERT_GT(init, 0);
  std::string image = session.image_path();
  ASSERT_TRUE(session.dump_ok(init, image, {"--compress"}));
  EXPECT_FALSE(fs::exists(image + "/pages-1.img"));
  ASSERT_TRUE(fs::exists(image + "/zpages-1.img"));
  image::Pagemap pagemap = read_pagemap(image, 1);
  ASSERT_TRUE(pagemap.has_compression());
  EXPECT_GE(pagemap.pages_file_size(), uint64_t{48} << 20);
  EXPECT_GE(pagemap.compression().chunks_size(), 24);
  // The random 16 MiB stay about their size; the 32 MiB of text shrink to a fraction.
  uint64_t stored = file_size(image + "/zpages-1.img");
  EXPECT_EQ(stored, pagemap.compression().stored_size());
  EXPECT_LT(stored, pagemap.pages_file_size() / 2) << "compressed " << pagemap.pages_file_size() << " bytes to " << stored;
  EXPECT_GT(stored, uint64_t{16} << 20);

  auto shown = run_cryo({"show", "-D", image});
  EXPECT_EQ(shown.status, 0) << shown.err;
  EXPECT_NE(shown.out.find("zstd-compressed page data"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("compressed with zstd: "), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("(ratio "), std::string::npos) << shown.out;

  pid_t restored = session.restore_ok(image);
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

// Copy-on-write sharing is confirmed at the dump by comparing the child's pages with its parent's,
// and restored by seeding the parent's memory before the fork: both read compressed pages then.
TEST(CompressedPages, PagesSharedSinceForkStayShared) {
  CheckpointSession session;
  pid_t init = session.start("cr_cow");
  ASSERT_GT(init, 0);
  std::string image = session.image_path();
  ASSERT_TRUE(session.dump_ok(init, image, {"--compress"}));
  EXPECT_GT(read_pagemap(image, 2).shared_with_parent_size(), 0);
  pid_t restored = session.restore_ok(image);
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

TEST(CompressedPages, AFlippedBitInAChunkIsCaughtByTheInventory) {
  CheckpointSession session;
  std::string image = session.image_path();
  ASSERT_GT(dump_compressed(session, image), 0);
  flip_bit(image + "/zpages-1.img", static_cast<off_t>(file_size(image + "/zpages-1.img") / 2));
  expect_refused_before_any_process(session, image, "zpages-1.img does not match its checksum");
}

TEST(CompressedPages, ADamagedChunkWithAMatchingInventoryFailsTheRestoreCleanly) {
  CheckpointSession session;
  std::string image = session.image_path();
  ASSERT_GT(dump_compressed(session, image), 0);
  // Inside the compressed bytes of the last chunk, past its frame header, with the inventory made
  // to agree: only the frame's own checksum can tell. The restore fails and kills what it made.
  image::Pagemap pagemap = read_pagemap(image, 1);
  const auto& last = pagemap.compression().chunks(pagemap.compression().chunks_size() - 1);
  flip_bit(image + "/zpages-1.img", static_cast<off_t>(last.stored_offset() + last.stored_size() / 2));
  reseal_file(image, "zpages-1.img");
  auto result = session.restore(image);
  expect_one_clear_error(result, "zpages-1.img chunk " + std::to_string(pagemap.compression().chunks_size() - 1));
  session.expect_nothing_left_running();
}

TEST(CompressedPages, AChunkTableThatLiesIsRefusedBeforeAnyProcess) {
  struct Case {
    std::string what;
    std::function<void(image::Pagemap&)> change;
    std::string expect;
  } cases[] = {
      {"overlap", [](image::Pagemap& p) { p.mutable_compression()->mutable_chunks(1)->set_offset(4096); }, "overlaps the chunk before"},
      {"past the file",
       [](image::Pagemap& p) {
         auto* last = p.mutable_compression()->mutable_chunks(p.compression().chunks_size() - 1);
         last->set_stored_size(last->stored_size() + 1);
       },
       "past the end of zpages-1.img"},
      {"another size",
       [](image::Pagemap& p) {
         auto* chunks = p.mutable_compression()->mutable_chunks();
         (*chunks)[0].set_size((*chunks)[0].size() - 4096);
         (*chunks)[1].set_offset((*chunks)[1].offset() - 4096);
         (*chunks)[1].set_size((*chunks)[1].size() + 4096);
       },
       "decompresses to 2097152 bytes"},
      {"more pages than the pagemap", [](image::Pagemap& p) { p.set_pages_file_size(p.pages_file_size() - 4096); }, "bytes of pages, the pagemap"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    CheckpointSession session;
    std::string image = session.image_path();
    ASSERT_GT(dump_compressed(session, image), 0);
    rewrite_image<image::Pagemap>(image, image::Kind::Pagemap, 1, c.change);
    expect_refused_before_any_process(session, image, c.expect);
  }
}

TEST(CompressedPages, AnUncompressedPagesFileBesideACompressedPagemapIsRefused) {
  CheckpointSession session;
  std::string image = session.image_path();
  ASSERT_GT(dump_compressed(session, image), 0);
  fs::rename(image + "/zpages-1.img", image + "/pages-1.img");
  image::Inventory inventory;
  ASSERT_TRUE(image::read_image(image, image::Kind::Inventory, 0, &inventory).has_value());
  for (auto& file : *inventory.mutable_files())
    if (file.name() == "zpages-1.img") file.set_name("pages-1.img");
  image::seal_inventory(inventory);
  ASSERT_EQ(::unlink((image + "/inventory.img").c_str()), 0);
  ASSERT_TRUE(image::write_image(image, image::Kind::Inventory, 0, inventory).has_value());
  expect_refused_before_any_process(session, image, "pages-1.img does not go with its compressed pagemap");
}

}  // namespace
}  // namespace cryo::e2e
