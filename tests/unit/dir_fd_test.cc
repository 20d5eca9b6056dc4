// DirFd: files in an image directory are opened relative to its fd, only when they are regular
// files, and read within a bound; what is not a regular file is refused by name without opening it.
#include "base/dir_fd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "image/image_signature.h"
#include "image/stale_temp_dirs.h"

namespace cryo {
namespace {

namespace fs = std::filesystem;

class DirFdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/cryo-dirfd-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    root_ = templ;
    ASSERT_EQ(::mkdir(dir().c_str(), 0700), 0);
    auto opened = DirFd::open(dir());
    ASSERT_TRUE(opened) << opened.error().message;
    dir_ = std::move(*opened);
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string dir() const { return root_ + "/d"; }
  std::string in(const std::string& name) const { return dir() + "/" + name; }
  void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

  std::string root_;
  DirFd dir_;
};

TEST_F(DirFdTest, ReadsARegularFileWithinItsBound) {
  write(in("a"), "hello");
  auto text = dir_.read_regular("a", 5);
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(*text, "hello");
  auto over = dir_.read_regular("a", 4);
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().message.find("has 5 bytes, more than the 4"), std::string::npos) << over.error().message;
}

TEST_F(DirFdTest, RefusesSymlinksFifosDirectoriesAndDevicesByName) {
  write(root_ + "/target", "secret");
  ASSERT_EQ(::symlink((root_ + "/target").c_str(), in("link").c_str()), 0);
  ASSERT_EQ(::mkfifo(in("fifo").c_str(), 0600), 0);
  ASSERT_EQ(::mkdir(in("sub").c_str(), 0700), 0);
  ASSERT_EQ(::symlink("/dev/zero", in("zero").c_str()), 0);
  ASSERT_EQ(::mknod(in("null").c_str(), S_IFCHR | 0600, makedev(1, 3)), 0);  // /dev/null's numbers.
  const std::pair<const char*, const char*> cases[] = {{"link", "is a symlink"},
                                                       {"fifo", "is a FIFO"},
                                                       {"sub", "is a directory"},
                                                       {"zero", "is a symlink"},
                                                       {"null", "is a character device"}};
  auto started = std::chrono::steady_clock::now();
  for (auto [name, says] : cases) {
    auto opened = dir_.open_regular(name, 1 << 20);
    ASSERT_FALSE(opened) << name;
    EXPECT_EQ(opened.error().message, in(name) + " " + says);
    EXPECT_NE(opened.error().hint.find("holds only regular files"), std::string::npos);
    EXPECT_FALSE(dir_.refuse_non_regular(name)) << name;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2)) << "an open blocked";
  EXPECT_TRUE(dir_.refuse_non_regular("absent"));
}

TEST_F(DirFdTest, OpenRefusesASymlinkedDirectory) {
  ASSERT_EQ(::symlink(dir().c_str(), (root_ + "/alias").c_str()), 0);
  auto opened = DirFd::open(root_ + "/alias");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().message, root_ + "/alias is a symlink");
  write(root_ + "/file", "x");
  auto file = DirFd::open(root_ + "/file");
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().message.find("not a directory"), std::string::npos) << file.error().message;
}

// A log is replaced, never truncated: a hard link to another file must leave that file whole.
TEST_F(DirFdTest, ReplaceFileNeverTruncatesAHardLinkedFile) {
  write(root_ + "/victim", "precious");
  ASSERT_EQ(::link((root_ + "/victim").c_str(), in("restore.log").c_str()), 0);
  auto fd = dir_.replace_file("restore.log");
  ASSERT_TRUE(fd) << fd.error().message;
  ASSERT_EQ(::write(fd->get(), "log", 3), 3);
  std::ifstream victim(root_ + "/victim");
  std::string text((std::istreambuf_iterator<char>(victim)), {});
  EXPECT_EQ(text, "precious");
  ASSERT_EQ(::symlink((root_ + "/victim").c_str(), in("dump.log").c_str()), 0);
  EXPECT_FALSE(dir_.replace_file("dump.log"));
  EXPECT_FALSE(dir_.create_file("restore.log")) << "create_file overwrote an existing file";
}

TEST_F(DirFdTest, ReadBoundedStopsOneBytePastTheBound) {
  int fd = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  UniqueFd zero(fd);
  auto read = read_bounded(zero.get(), 1 << 20, "/dev/zero");
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("more than 1048576 bytes"), std::string::npos);
}

TEST(StaleTempDirs, OnlyTheDumpsOwnNamesCount) {
  EXPECT_TRUE(image::is_temp_dir_of("img.cryo-tmp-aB3xYz", "img"));
  EXPECT_FALSE(image::is_temp_dir_of("img.cryo-tmp-aB3xY", "img"));
  EXPECT_FALSE(image::is_temp_dir_of("img.cryo-tmp-aB3xYz1", "img"));
  EXPECT_FALSE(image::is_temp_dir_of("img.cryo-tmp-aB/xYz", "img"));
  EXPECT_FALSE(image::is_temp_dir_of("img2.cryo-tmp-aB3xYz", "img"));
  EXPECT_FALSE(image::is_temp_dir_of("img", "img"));
}

TEST_F(DirFdTest, SignatureCoversEveryByteOfTheInventory) {
  auto made = image::generate_key_pair(root_ + "/key");
  ASSERT_TRUE(made) << made.error().message;
  auto secret = image::load_signing_key(root_ + "/key");
  ASSERT_TRUE(secret) << secret.error().message;
  auto key = image::load_verify_key(root_ + "/key.pub");
  ASSERT_TRUE(key) << key.error().message;
  std::string inventory = "some inventory bytes";
  EXPECT_FALSE(image::verify_inventory_signature(dir_, inventory, *key)) << "an unsigned directory passed";
  write(in("signature.img"), image::sign_inventory(*secret, inventory));
  auto good = image::verify_inventory_signature(dir_, inventory, *key);
  EXPECT_TRUE(good) << good.error().message;
  for (size_t i = 0; i < inventory.size(); ++i) {
    std::string changed = inventory;
    changed[i] ^= 1;
    EXPECT_FALSE(image::verify_inventory_signature(dir_, changed, *key)) << "byte " << i;
  }
  ASSERT_EQ(::chmod((root_ + "/key").c_str(), 0640), 0);
  EXPECT_FALSE(image::load_signing_key(root_ + "/key")) << "a group-readable secret key was accepted";
}

}  // namespace
}  // namespace cryo
