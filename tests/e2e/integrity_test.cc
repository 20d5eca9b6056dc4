// A damaged image is refused before anything is created: one real dump of a small tree, then single
// flipped bits at spread offsets of every image file kind, and missing, extra, truncated, grown and
// swapped files. Each must make `cryo restore` and `cryo show` exit non-zero with one error line
// that names the damaged file, with no process of the test created.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "e2e/checkpoint_harness.h"
#include "image/image_kinds.h"

namespace cryo::e2e {
namespace {

namespace fs = std::filesystem;

// The image files of a directory (not its logs and stats), by name.
std::vector<std::string> image_files(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename();
    if (!image::is_outside_inventory(name)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// One file of every kind, and a second one of each per-process kind (the last process's): the
// inventory guards every file alike, but a test of one file per kind would not notice an image
// reader that looked at pid 1's files only.
std::vector<std::string> files_to_damage(const std::vector<std::string>& names) {
  std::map<image::Kind, std::vector<std::string>> by_kind;
  for (const auto& name : names) {
    auto id = image::identify(name);
    EXPECT_TRUE(id.has_value()) << name << " is not an image file";
    if (id) by_kind[id->kind].push_back(name);
  }
  std::vector<std::string> chosen;
  for (auto& [kind, files] : by_kind) {
    chosen.push_back(files.front());
    if (files.size() > 1) chosen.push_back(files.back());
  }
  return chosen;
}

// About 20 offsets: the header (magic, version, first length), spread points, the middle and the last byte.
std::vector<off_t> spread_offsets(off_t size) {
  std::set<off_t> offsets;
  for (off_t at : {0, 1, 2, 3, 4, 7, 8, 9, 11}) offsets.insert(at);
  for (int i = 1; i < 10; ++i) offsets.insert(size * i / 10);
  offsets.insert(size / 2);
  offsets.insert(size - 2);
  offsets.insert(size - 1);
  std::vector<off_t> in_file;
  for (off_t at : offsets)
    if (at >= 0 && at < size) in_file.push_back(at);
  return in_file;
}

void flip_bit(const std::string& path, off_t offset, int bit) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path;
  unsigned char byte = 0;
  ASSERT_EQ(::pread(fd, &byte, 1, offset), 1) << path;
  byte ^= static_cast<unsigned char>(1u << bit);
  ASSERT_EQ(::pwrite(fd, &byte, 1, offset), 1) << path;
  ::close(fd);
}

// Refused by restore with one line naming `file`, nothing created: no process of the test is left,
// and restore's log never got as far as creating the tree's init.
void expect_restore_refuses(CheckpointSession& session, const std::string& image, const std::string& file,
                            const std::string& what) {
  SCOPED_TRACE(what);
  auto result = session.restore(image);
  expect_one_clear_error(result, file);
  EXPECT_TRUE(session.leftover_processes().empty()) << "restore created processes";
  std::string log = slurp(image + "/restore.log");
  EXPECT_EQ(log.find("init is host pid"), std::string::npos) << "restore created the tree's init:\n" << log;
  auto shown = run_cryo({"show", "-D", image});
  expect_one_clear_error(shown, file);
}

class Integrity : public ::testing::Test {
 protected:
  void SetUp() override {
    init_ = session_.start("cr_tree");
    ASSERT_GT(init_, 0);
    // --include, so that included.img is there too.
    ASSERT_TRUE(session_.dump_ok(init_, image(), {"--include", workload("cr_tree")}));
    names_ = image_files(image());
    std::set<image::Kind> kinds;
    for (const auto& name : names_)
      if (auto id = image::identify(name)) kinds.insert(id->kind);
    // The workload was chosen so that its image has a file of every kind there is, but the
    // compressed pages of `dump --compress`, which replace the raw ones: compressed_pages_test.cc
    // damages those.
    EXPECT_FALSE(kinds.count(image::Kind::CompressedPages));
    ASSERT_EQ(kinds.size(), image::all_kinds().size() - 1) << "the dump lacks some image kind";
  }

  // The untouched image still restores and the tree passes its check: the cases above left it
  // intact, and were refused for their damage, not for something else.
  void expect_original_restores() {
    pid_t restored = session_.restore_ok(image());
    ASSERT_GT(restored, 0);
    session_.expect_pass_after_check(restored);
  }

  std::string image() const { return session_.image_path(); }

  CheckpointSession session_;
  pid_t init_ = 0;
  std::vector<std::string> names_;
};

TEST_F(Integrity, EveryFlippedBitIsCaughtBeforeAnyProcessStarts) {
  int cases = 0;
  for (const auto& name : files_to_damage(names_)) {
    std::string path = image() + "/" + name;
    off_t size = static_cast<off_t>(fs::file_size(path));
    for (off_t offset : spread_offsets(size)) {
      int bit = static_cast<int>(offset % 8);
      flip_bit(path, offset, bit);
      expect_restore_refuses(session_, image(), name,
                             name + ": bit " + std::to_string(bit) + " of byte " + std::to_string(offset) + " of " +
                                 std::to_string(size));
      flip_bit(path, offset, bit);
      ++cases;
      if (::testing::Test::HasFailure()) return;  // One failure explains the rest; do not flood.
    }
  }
  EXPECT_GE(cases, 150);
  // The top bit of a character in a string field (a file name in the inventory) makes invalid
  // UTF-8, which libprotobuf also complains about on stderr: still one line, naming the file.
  std::string inventory = image() + "/inventory.img";
  off_t in_name = static_cast<off_t>(slurp(inventory).find("core-1.img"));
  ASSERT_GT(in_name, 0);
  flip_bit(inventory, in_name, 7);
  expect_restore_refuses(session_, image(), "inventory.img", "invalid UTF-8 in a file name");
  flip_bit(inventory, in_name, 7);
  expect_original_restores();
}

TEST_F(Integrity, MissingExtraTruncatedGrownAndSwappedFilesAreCaught) {
  std::string copy = session_.image_path("damaged");
  auto fresh_copy = [&] {
    fs::remove_all(copy);
    fs::copy(image(), copy);
  };
  for (const auto& name : files_to_damage(names_)) {
    std::string path = copy + "/" + name;
    fresh_copy();
    fs::remove(path);
    expect_restore_refuses(session_, copy, name, name + " missing");

    // An empty file (objpages.img of a tree without memory objects) cannot get any shorter.
    fresh_copy();
    if (fs::file_size(path) > 0) {
      fs::resize_file(path, fs::file_size(path) - 1);
      expect_restore_refuses(session_, copy, name, name + " truncated by one byte");

      fresh_copy();
      fs::resize_file(path, 0);
      expect_restore_refuses(session_, copy, name, name + " truncated to nothing");
    }

    fresh_copy();
    fs::resize_file(path, fs::file_size(path) + 1);
    expect_restore_refuses(session_, copy, name, name + " grown by one byte");
  }

  // Files the inventory does not list: a plausible image name and a stray one.
  for (const std::string extra : {"core-99.img", "stray.txt"}) {
    fresh_copy();
    fs::copy_file(copy + "/core-1.img", copy + "/" + extra);
    expect_restore_refuses(session_, copy, extra, "extra " + extra);
  }

  // Two files' contents exchanged: of the same kind, and of different kinds.
  auto swap_files = [&](const std::string& a, const std::string& b) {
    fresh_copy();
    fs::rename(copy + "/" + a, copy + "/swap.tmp");
    fs::rename(copy + "/" + b, copy + "/" + a);
    fs::rename(copy + "/swap.tmp", copy + "/" + b);
    expect_restore_refuses(session_, copy, a, a + " and " + b + " swapped");
  };
  std::vector<std::string> cores, pages;
  for (const auto& name : names_) {
    if (name.rfind("core-", 0) == 0) cores.push_back(name);
    if (name.rfind("pages-", 0) == 0) pages.push_back(name);
  }
  ASSERT_GE(cores.size(), 2u);
  ASSERT_GE(pages.size(), 2u);
  swap_files(cores[0], cores[1]);
  swap_files(pages[0], pages[1]);
  swap_files("pstree.img", "namespaces.img");
  swap_files("inventory.img", cores[0]);
  fs::remove_all(copy);
  expect_original_restores();
}

}  // namespace
}  // namespace cryo::e2e
