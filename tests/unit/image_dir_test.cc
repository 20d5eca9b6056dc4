#include "image/image_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>

#include "base/file_util.h"
#include "image/framed_file.h"
#include "pstree.pb.h"

namespace cryo::image {
namespace {

class ImageDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/cryo-imagedir-test-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    parent_ = templ;
    dir_ = parent_ + "/img";
  }
  void TearDown() override {
    remove_dir(dir_);
    remove_dir(parent_);
  }
  // Writes a small complete image and returns its directory.
  void write_image_dir() {
    auto writer = ImageDirWriter::create(dir_);
    ASSERT_TRUE(writer.has_value()) << writer.error().message;
    ProcessTree tree;
    tree.add_processes()->set_pid(1);
    ASSERT_TRUE(write_image(writer->dir(), Kind::ProcessTree, 0, tree).has_value());
    Inventory inventory;
    ASSERT_TRUE(writer->commit(inventory).has_value());
  }
  std::string parent_;
  std::string dir_;
};

TEST_F(ImageDirTest, CommitThenOpen) {
  write_image_dir();
  auto inventory = open_image_dir(dir_);
  ASSERT_TRUE(inventory.has_value()) << inventory.error().message;
  ASSERT_EQ(inventory->files_size(), 1);
  EXPECT_EQ(inventory->files(0).name(), "pstree.img");
  struct stat st;
  ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((dir_ + "/pstree.img").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// The inventory guards every other file; its own checksum guards it: a changed value in it (here the
// recorded host clock, which nothing else would catch) is refused, naming inventory.img.
TEST_F(ImageDirTest, AChangedInventoryIsRefusedByItsOwnChecksum) {
  write_image_dir();
  Inventory inventory;
  ASSERT_TRUE(read_image(dir_, Kind::Inventory, 0, &inventory).has_value());
  EXPECT_TRUE(inventory_is_sealed(inventory));
  inventory.mutable_host_clocks()->set_monotonic_ns(inventory.host_clocks().monotonic_ns() + 1);
  EXPECT_FALSE(inventory_is_sealed(inventory));
  ASSERT_EQ(::unlink((dir_ + "/inventory.img").c_str()), 0);
  ASSERT_TRUE(write_image(dir_, Kind::Inventory, 0, inventory).has_value());
  auto opened = open_image_dir(dir_);
  ASSERT_FALSE(opened.has_value());
  EXPECT_NE(opened.error().message.find("inventory.img does not match its own checksum"), std::string::npos)
      << opened.error().message;
  seal_inventory(inventory);
  ASSERT_EQ(::unlink((dir_ + "/inventory.img").c_str()), 0);
  ASSERT_TRUE(write_image(dir_, Kind::Inventory, 0, inventory).has_value());
  EXPECT_TRUE(open_image_dir(dir_).has_value());
}

// Withdrawing a committed image removes every image file, inventory first, and keeps the logs.
TEST_F(ImageDirTest, WithdrawLeavesOnlyTheLogs) {
  auto writer = ImageDirWriter::create(dir_);
  ASSERT_TRUE(writer.has_value());
  ProcessTree tree;
  ASSERT_TRUE(write_image(writer->dir(), Kind::ProcessTree, 0, tree).has_value());
  int log = ::open((writer->dir().path() + "/dump.log").c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(log, 0);
  ::close(log);
  ASSERT_TRUE(writer->commit(Inventory()).has_value());
  ASSERT_TRUE(open_image_dir(dir_).has_value());
  writer->withdraw();
  EXPECT_NE(::access((dir_ + "/inventory.img").c_str(), F_OK), 0);
  EXPECT_NE(::access((dir_ + "/pstree.img").c_str(), F_OK), 0);
  EXPECT_EQ(::access((dir_ + "/dump.log").c_str(), F_OK), 0);
  EXPECT_FALSE(open_image_dir(dir_).has_value());
}

TEST_F(ImageDirTest, UncommittedWriterLeavesNothing) {
  {
    auto writer = ImageDirWriter::create(dir_);
    ASSERT_TRUE(writer.has_value());
    ProcessTree tree;
    ASSERT_TRUE(write_image(writer->dir(), Kind::ProcessTree, 0, tree).has_value());
  }
  EXPECT_NE(::access(dir_.c_str(), F_OK), 0);
  auto opened = open_image_dir(dir_);
  ASSERT_FALSE(opened.has_value());
  EXPECT_FALSE(opened.error().hint.empty());
}

TEST_F(ImageDirTest, RefusesNonEmptyTarget) {
  write_image_dir();
  auto writer = ImageDirWriter::create(dir_);
  ASSERT_FALSE(writer.has_value());
  EXPECT_NE(writer.error().message.find("not empty"), std::string::npos);
}

TEST_F(ImageDirTest, DetectsChangedFile) {
  write_image_dir();
  std::string path = dir_ + "/pstree.img";
  auto bytes = read_file(path).value();
  bytes[bytes.size() - 1] ^= 0x10;
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(write_all(fd, bytes.data(), bytes.size(), path).has_value());
  ::close(fd);
  auto opened = open_image_dir(dir_);
  ASSERT_FALSE(opened.has_value());
  EXPECT_NE(opened.error().message.find("pstree.img does not match its checksum"), std::string::npos)
      << opened.error().message;
}

TEST_F(ImageDirTest, DetectsMissingAndExtraFiles) {
  write_image_dir();
  ASSERT_EQ(::rename((dir_ + "/pstree.img").c_str(), (dir_ + "/core-9.img").c_str()), 0);
  auto opened = open_image_dir(dir_);
  ASSERT_FALSE(opened.has_value());
  EXPECT_NE(opened.error().message.find("core-9.img is not in the inventory"), std::string::npos);
  EXPECT_NE(opened.error().message.find("pstree.img is missing"), std::string::npos);
}

TEST_F(ImageDirTest, DetectsTruncatedFile) {
  write_image_dir();
  ASSERT_EQ(::truncate((dir_ + "/pstree.img").c_str(), 3), 0);
  auto opened = open_image_dir(dir_);
  ASSERT_FALSE(opened.has_value());
  EXPECT_NE(opened.error().message.find("pstree.img has 3 bytes"), std::string::npos);
}

// A pages file large enough to be hashed through a mapping when the image is opened: the checksum
// the commit computed by reading it matches, and one flipped byte in its middle is caught.
TEST_F(ImageDirTest, LargeFilesAreCheckedAsWellAsSmallOnes) {
  constexpr size_t kBytes = (20 << 20) + 4096;  // Three windows, the last one short.
  std::string pages(kBytes, '\0');
  for (size_t i = 0; i < kBytes; ++i) pages[i] = static_cast<char>(i * 131 + (i >> 12));
  {
    auto writer = ImageDirWriter::create(dir_);
    ASSERT_TRUE(writer.has_value()) << writer.error().message;
    auto fd = writer->dir().create_file("pages-1.img");
    ASSERT_TRUE(fd.has_value()) << fd.error().message;
    ASSERT_TRUE(write_all(fd->get(), pages.data(), pages.size(), "pages").has_value());
    Inventory inventory;
    ASSERT_TRUE(writer->commit(inventory).has_value());
  }
  auto opened = open_image_dir(dir_);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  std::string path = dir_ + "/pages-1.img";
  int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  char flipped = static_cast<char>(pages[kBytes / 2] ^ 0x01);
  ASSERT_EQ(::pwrite(fd, &flipped, 1, kBytes / 2), 1);
  ::close(fd);
  opened = open_image_dir(dir_);
  ASSERT_FALSE(opened.has_value());
  EXPECT_NE(opened.error().message.find("pages-1.img does not match its checksum"), std::string::npos) << opened.error().message;
}

}  // namespace
}  // namespace cryo::image
